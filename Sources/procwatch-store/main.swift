// `procwatch record` and `procwatch report`. `procwatch` execs this binary (installed next to
// it) for those two commands, so the live view's process never maps SQLite or Foundation:
// with them loaded, the Swift runtime's conformance scans alone kept 8 MiB more resident.
import ProcWatchStoreCLI

await procwatchStoreMain()
