// Intentionally empty: CProcWatch is a header-only shim; SwiftPM needs one source file.
