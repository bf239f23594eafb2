// The `procwatch` command. Everything lives in ProcWatchCLI, so benchmarks and tests reach
// the renderers and the live pipeline without starting a process.
import ProcWatchCLI

await procwatchMain()
