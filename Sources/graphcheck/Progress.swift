import Foundation

/// Tells a person at a terminal what a long run is doing: once a run has taken about a second, the current
/// phase ("reading model.onnx", "laying out with Graphviz") and the seconds so far are shown on standard
/// error, updated once a second, and erased when the run ends. Nothing is printed when standard error is not a terminal (CI logs, pipes).
public final class Progress: @unchecked Sendable {
    /// Seconds before anything is shown; GRAPHCHECK_PROGRESS_DELAY overrides it (tests set 0, so that they
    /// do not depend on how fast the machine is).
    public static var delay: Double {
        ProcessInfo.processInfo.environment["GRAPHCHECK_PROGRESS_DELAY"].flatMap(Double.init) ?? 1.0
    }

    private let lock = NSLock()
    private var phase = ""
    private let start = DispatchTime.now()
    private var shown = false
    private var finished = false
    private let enabled: Bool
    private let timer: DispatchSourceTimer?

    public init(enabled: Bool = isatty(STDERR_FILENO) == 1) {
        self.enabled = enabled
        guard enabled else {
            timer = nil
            return
        }
        let timer = DispatchSource.makeTimerSource(queue: DispatchQueue.global(qos: .utility))
        timer.schedule(deadline: .now() + Progress.delay, repeating: 1.0, leeway: .milliseconds(10))
        self.timer = timer
        timer.setEventHandler { [weak self] in self?.draw() }
        timer.resume()
    }

    /// The phase now running.
    public func update(_ phase: String) {
        lock.lock()
        self.phase = phase
        lock.unlock()
        if enabled && Progress.delay <= 0 { draw() }
    }

    /// Erases the line, if one was shown; call before printing results.
    public func finish() {
        lock.lock()
        defer { lock.unlock() }
        guard !finished else { return }
        finished = true
        timer?.cancel()
        if shown { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }

    private func draw() {
        lock.lock()
        defer { lock.unlock() }
        guard enabled, !finished, !phase.isEmpty else { return }
        shown = true
        let seconds = (DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1_000_000_000
        FileHandle.standardError.write(Data("\r\u{1B}[Kgraphcheck: \(phase)… \(seconds) s".utf8))
    }

    deinit { finish() }
}
