import Foundation
import Synchronization

/// Detached jobs (`spec/0008-control-api.md`, `batch.*`; `spec/0019-native-jobs.md` §7).
extension ControlHandler {
    func batches(_ request: ControlRequest) async throws(NodeError) -> ControlResponse {
        guard let detached = service.detached.withLock({ $0 }) else {
            throw NodeError("this node runs no detached jobs (it was started with --no-jobs)")
        }
        switch request.method {
        case "batch.submit":
            guard let path = request.params["path"] else { throw NodeError("batch.submit needs 'path', the job file") }
            return .success(try Self.json(detached.submit(jobFile: path)))
        case "batch.list":
            // Without their logs: a list stays small; `batch.show` gives one job's log.
            let records = try detached.list().map { record in
                var record = record
                record.log = []
                return record
            }
            return .success(["jobs": .array(try records.map(Self.json))])
        case "batch.show":
            return .success(try Self.json(detached.record(try id(request))))
        case "batch.cancel":
            return .success(try Self.json(detached.cancel(try id(request))))
        default:
            throw NodeError("unknown method '\(request.method)'; see spec/0008-control-api.md")
        }
    }

    private func id(_ request: ControlRequest) throws(NodeError) -> String {
        guard let id = request.params["id"], !id.isEmpty else { throw NodeError("\(request.method) needs 'id', a job id from 'potluck jobs'") }
        return id
    }

    static func json(_ record: BatchRecord) throws(NodeError) -> JSONValue {
        do { return try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(record)) } catch {
            throw NodeError("cannot encode job \(record.id): \(error)")
        }
    }
}
