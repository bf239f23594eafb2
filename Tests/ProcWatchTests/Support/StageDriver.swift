@testable import ProcWatch

/// Runs events through an enrichment stage as the reader does, batch by batch, over a
/// scripted /proc and scripted exit records (by default: an empty /proc, no records).
struct StageDriver {
    let files: ScriptedProcFS
    let exitRecords: ScriptedExitRecords?
    let stage: EnrichmentStage

    init(files: ScriptedProcFS = ScriptedProcFS(), exitRecords: ScriptedExitRecords? = nil, executables: Bool = true) {
        self.files = files
        self.exitRecords = exitRecords
        stage = EnrichmentStage(options: .init(seedsFromProc: false, readsExecutables: executables, readsExitRecords: exitRecords != nil),
                                files: { files }, exitRecords: { exitRecords })
    }

    /// Hands one kernel batch to the stage: read-ahead first, then each event in order.
    func batch(_ events: [ProcessEvent], _ consume: (EnrichedEvent) -> Void) {
        let messages = events.map { ConnectorMessage.event($0) }
        stage.prepare(messages)
        if let lost = stage.exitRecordLoss() { consume(stage.enrich(lost, at: nil)) }
        for (index, event) in events.enumerated() {
            consume(stage.enrich(event, at: index))
            stage.retire(event)
        }
    }

    /// The enriched events of one batch.
    func batch(_ events: [ProcessEvent]) -> [EnrichedEvent] {
        var enriched: [EnrichedEvent] = []
        batch(events) { enriched.append($0) }
        return enriched
    }
}
