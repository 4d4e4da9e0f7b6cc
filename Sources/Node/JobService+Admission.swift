import JobChannel
import Jobs

extension JobService {
    /// Admits an `ask` (`spec/0017-jobs.md` §2.1): the job it describes passes the lender's
    /// policy, fits a message, fits strangers' rate if the peer is one, and fits the receive
    /// budget, which then holds `bytes` for the connection (the caller releases them) and the
    /// connection takes messages that large. `nil` when admitted; else why not.
    func admitAsk(bytes: Int, demand: JobDemand, on connection: SecureConnection) async -> JobRefusal? {
        if let refusal = await refusal(of: demand, from: connection.peer) { return refusal }
        guard bytes <= FrameCodec.maxMessageSize else {
            return JobRefusal(.tooLarge, "a job of \(bytes) bytes exceeds the job channel's \(FrameCodec.maxMessageSize)-byte message limit")
        }
        guard known.contains(connection.peer) || strangerRate.take(bytes) else {
            return JobRefusal(.busy, "this lender takes at most \(Int(StrangerRate.bytesPerSecond) >> 20) MiB/s of large jobs "
                                     + "from peers it has no receipt with; try again shortly")
        }
        let budget = (try? LenderConfig.load(from: configPath).channelLimits.receiveBudget) ?? LenderConfig.defaultReceiveBudget
        guard receiveBudget.reserve(bytes, within: budget) else {
            if bytes > budget { return JobRefusal(.tooLarge, "a job of \(bytes) bytes is more than this lender receives at once (\(budget) bytes)") }
            return JobRefusal(.busy, "this lender is receiving other jobs (\(budget) bytes at most at once); try again shortly")
        }
        connection.admit(frameLimit: bytes)
        return nil
    }
}
