import GraphCheck
do {
    let input = try InputLoader.load(path: CommandLine.arguments[1])
    print(TraceWriter.write(input.graph, producer: "graphcheck"), terminator: "")
} catch {
    print(error)
}
