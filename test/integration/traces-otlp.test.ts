import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { startTracing } from "../../src/lib/telemetry.ts";
import { traced } from "../../src/lib/trace.ts";

/**
 * As deployed: OTEL_EXPORTER_OTLP_ENDPOINT set, the SDK sends Drover's spans over OTLP/HTTP to the
 * collector there (a loopback stand-in here), at the latest when the process shuts down.
 */
describe("traces sent to an OTLP/HTTP collector", () => {
  it("posts the spans to <endpoint>/v1/traces, with Drover's attributes and service name", async () => {
    const posts: { path: string; type: string; body: string }[] = [];
    const collector = createServer((request, response) => {
      const parts: Buffer[] = [];
      request.on("data", (part: Buffer) => parts.push(part));
      request.on("end", () => {
        posts.push({
          path: request.url ?? "",
          type: request.headers["content-type"] ?? "",
          body: Buffer.concat(parts).toString("utf8"),
        });
        response.writeHead(200, { "content-type": "application/json" }).end("{}");
      });
    });
    await new Promise<void>((resolve) => collector.listen(0, "127.0.0.1", resolve));
    const { port } = collector.address() as AddressInfo;
    try {
      const tracing = await startTracing({
        env: { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`, OTEL_SERVICE_NAME: "drover-test" },
      });
      expect(tracing).not.toBeNull();
      await traced("drover.intake", { "drover.delivery_id": "d-otlp-1" }, async () => {});
      await tracing!.shutdown();

      expect(posts.map((post) => [post.path, post.type])).toEqual([["/v1/traces", "application/json"]]);
      const body = JSON.parse(posts[0]!.body) as {
        resourceSpans: {
          resource: { attributes: { key: string; value: { stringValue?: string } }[] };
          scopeSpans: {
            spans: { name: string; attributes: { key: string; value: { stringValue?: string } }[] }[];
          }[];
        }[];
      };
      const [resource] = body.resourceSpans;
      expect(resource?.resource.attributes).toContainEqual({
        key: "service.name",
        value: { stringValue: "drover-test" },
      });
      const [span] = resource!.scopeSpans.flatMap((scope) => scope.spans);
      expect(span?.name).toBe("drover.intake");
      expect(span?.attributes).toContainEqual({
        key: "drover.delivery_id",
        value: { stringValue: "d-otlp-1" },
      });
    } finally {
      await new Promise((resolve) => collector.close(resolve));
    }
  });
});
