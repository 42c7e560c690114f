import Foundation

// graphcheck-fuzz READER [libFuzzer options and corpus folders]
//
// Built with `-sanitize=fuzzer -DFUZZING` (fuzz/run.sh), it hands the rest of the command line to
// libFuzzer's driver. Built plainly it replays files — `graphcheck-fuzz trace crash-1234` — so a crash
// found by the fuzzer can be rerun under a debugger without the sanitizer toolchain.

#if FUZZING
@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzerDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt
#endif

nonisolated(unsafe) var selected = FuzzTarget("trace")!

let arguments = CommandLine.arguments
guard arguments.count >= 2, let target = FuzzTarget(arguments[1]) else {
    let names = FuzzTarget.names.joined(separator: "|")
    FileHandle.standardError.write(Data("usage: graphcheck-fuzz \(names) [libFuzzer options | files to replay]\n".utf8))
    exit(2)
}
selected = target

#if FUZZING
// libFuzzer sees the program name followed by everything after the reader's name.
var driverArguments = [arguments[0]] + arguments.dropFirst(2)
var cStrings: [UnsafeMutablePointer<CChar>?] = driverArguments.map { strdup($0) } + [nil]
var argc = CInt(driverArguments.count)
let status = cStrings.withUnsafeMutableBufferPointer { buffer -> CInt in
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = buffer.baseAddress
    return runFuzzerDriver(&argc, &argv) { data, size in
        selected.run(size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size)))
        return 0
    }
}
exit(status)
#else
for path in arguments.dropFirst(2) {
    guard let data = FileManager.default.contents(atPath: path) else {
        FileHandle.standardError.write(Data("graphcheck-fuzz: cannot read \(path)\n".utf8))
        exit(2)
    }
    target.run([UInt8](data))
    print("ok \(path)")
}
#endif
