/// Where the enrichment stage gets taskstats exit records: ``TaskstatsListener``, or a
/// test's script.
package protocol ExitRecordSource: AnyObject, Sendable {
    /// Reads every record already queued, without waiting; returns how many.
    @discardableResult
    func drain(_ body: (TaskstatsRecord) -> Void) -> Int
    /// How many times the queue overflowed (records were lost).
    var overflowCount: Int { get }
    /// How many records the kernel dropped, when it says.
    var lostRecords: Int { get }
    /// Deregisters and closes.
    func close()
}

extension TaskstatsListener: ExitRecordSource {}
