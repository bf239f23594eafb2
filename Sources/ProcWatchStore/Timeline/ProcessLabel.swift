/// A timeline row's label: the program and its most telling argument, so that seven `cc1`
/// runs read `cc1 main.c`, `cc1 f1.c`, … instead of seven copies of
/// `/usr/lib/gcc/x86_64-linux-gnu/12/cc1 -quiet -imultiarch …` cut at the same place.
/// The whole command line stays in the row's hover title.
enum ProcessLabel {
    /// File name extensions of source files: a compiler's or interpreter's input.
    static let sourceExtensions: Set<String> = [
        "c", "h", "cc", "cpp", "cxx", "c++", "hpp", "m", "mm", "s", "S", "asm", "swift", "rs", "go", "java", "kt",
        "scala", "py", "rb", "pl", "pm", "php", "js", "mjs", "ts", "lua", "sh", "bash", "f", "f90", "f95", "d",
        "zig", "hs", "ml", "cs", "vala", "y", "l", "proto", "tex", "sql",
    ]

    /// `program argument`, or the program alone when no argument tells more.
    static func label(program: String, commandLine: [String]) -> String {
        guard let argument = tellingArgument(commandLine.dropFirst()) else {
            // Options only (`make -j2`): they are what there is to tell.
            let options = commandLine.dropFirst().joined(separator: " ")
            return options.isEmpty ? program : program + " " + options
        }
        return program + " " + argument
    }

    /// The argument that tells one run of a program from another:
    /// 1. the last source file named (`cc -c f3.c -o f3.o` → `f3.c`; cc1's many options around `main.c`);
    /// 2. else the output named by `-o` (`ld … -o app` → `-o app`: a link is known by what it makes);
    /// 3. else the last file name with an extension (`as … /tmp/ccKPxMzf.s` → `ccKPxMzf.s`);
    /// 4. else the last argument that is not an option (`sh -c 'sleep 1'` → `sleep 1`).
    /// Paths are shortened to their last component; nil when every argument is an option.
    static func tellingArgument(_ arguments: ArraySlice<String>) -> String? {
        var operands: [String] = []
        var output: String?
        var previous = ""
        for argument in arguments {
            defer { previous = argument }
            if previous == "-o" || previous == "--output" {
                output = argument
                continue
            }
            if argument.hasPrefix("-"), argument != "-" { continue }
            operands.append(argument)
        }
        if let source = operands.last(where: { fileExtension($0).map(sourceExtensions.contains) == true }) {
            return lastComponent(source)
        }
        if let output { return "-o " + lastComponent(output) }
        if let file = operands.last(where: { fileExtension($0) != nil }) { return lastComponent(file) }
        return operands.last.map(lastComponent)
    }

    /// The extension of a file name (`main.c` → `c`); nil for `.c` alone, `0.05` or a name without one.
    static func fileExtension(_ argument: String) -> String? {
        let name = lastComponent(argument)
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return nil }
        let suffix = name[name.index(after: dot)...]
        guard (1...6).contains(suffix.count), suffix.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "+" }),
              !suffix.allSatisfy(\.isNumber) else { return nil }
        return String(suffix)
    }

    /// `/usr/lib/x.c` → `x.c`; text that is not a path (it has spaces) stays whole.
    static func lastComponent(_ argument: String) -> String {
        guard argument.contains("/"), !argument.contains(" "), let last = argument.split(separator: "/").last else { return argument }
        return String(last)
    }
}
