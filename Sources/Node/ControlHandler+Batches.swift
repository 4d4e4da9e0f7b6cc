import ControlAPI
import Foundation
import Synchronization

/// Detached jobs (`spec/0008-control-api.md`, `/v1/batches`; `spec/0019-native-jobs.md` §7).
extension ControlHandler {
    public func submitBatch(_ request: BatchSubmitRequest) throws(APIError) -> BatchRecord {
        let replicas = request.replicas ?? 1
        guard (1...16).contains(replicas) else { throw .badRequest("replicas must be between 1 and 16, not \(replicas)") }
        return try Self.batch { try detached().submit(jobFile: request.path, replicas: replicas) }
    }

    /// Every detached job without its log: a list stays small; ``batch(_:)`` gives one job's log.
    public func batches() throws(APIError) -> BatchList {
        let records = try Self.batch { try detached().list() }
        return BatchList(jobs: records.map { record in
            var record = record
            record.log = []
            return record
        })
    }

    public func batch(_ id: String) throws(APIError) -> BatchRecord {
        try Self.batch { try detached().record(id) }
    }

    public func cancelBatch(_ id: String) throws(APIError) -> BatchRecord {
        try Self.batch { try detached().cancel(id) }
    }

    private func detached() throws(APIError) -> DetachedJobs {
        guard let detached = service.detached.withLock({ $0 }) else {
            throw .conflict("this node runs no detached jobs (it was started with --no-jobs)")
        }
        return detached
    }

    /// Runs a ``DetachedJobs`` call; its errors (an unknown id, a job file that does not parse)
    /// are the request's fault.
    private static func batch<T>(_ body: () throws -> T) throws(APIError) -> T {
        do { return try body() } catch let error as APIError { throw error } catch {
            let text = "\(error)"
            throw text.hasPrefix("no job") ? .notFound(text) : .badRequest(text)
        }
    }
}
