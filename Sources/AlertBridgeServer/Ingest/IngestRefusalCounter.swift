import CoreMetrics
import Hummingbird

/// Counts `alertbridge_ingest_rejected_total`: every ingest request refused for what it
/// sent, 400 (not JSON, a bad field, a limit; on `/v2/enqueue` an unknown `routing_key`
/// too) or 413 (a body over `max_body_bytes`), on whichever ingest endpoint.
///
/// It looks at the answer, not at the code that refused: the body limit, the decoders
/// and `/v2/enqueue`'s own PagerDuty-shaped answers each refuse in their own place, and
/// counting in each of them is how some refusals went uncounted. 401, 403, 429 and 503
/// are not the payload's fault and are not counted.
struct IngestRefusalCounter<Context: RequestContext>: RouterMiddleware {
    let rejected: CoreMetrics.Counter

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            let response = try await next(request, context)
            count(response.status)
            return response
        } catch let error as any HTTPResponseError {
            count(error.status)
            throw error
        }
    }

    private func count(_ status: HTTPResponse.Status) {
        if status == .badRequest || status == .contentTooLarge { rejected.increment() }
    }
}
