// The executable's entry point for SwiftPM builds on Linux.
//
// SwiftPM renames an executable module's entry point to `<Module>_main` and links with
// `--defsym main=DecoderFuzzer_main`. With `-parse-as-library` and no `@main` the module
// would define no such function, and the defsym would also override libFuzzer's own
// `main`. So define it here and start libFuzzer's driver the way its `main` would.

/// libFuzzer's driver (compiler-rt), declared by its symbol name.
@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzerDriver(
    _ argc: UnsafeMutablePointer<Int32>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> Int32
) -> Int32

@_cdecl("DecoderFuzzer_main")
public func decoderFuzzerMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    var count = argc
    var arguments = argv
    return runFuzzerDriver(&count, &arguments) { data, size in fuzz(data, size) }
}
