import { connect } from "node:net";
import parsePrometheusTextFormat from "parse-prometheus-text-format";

/**
 * `/metrics` read back as a scraper would: the text parsed by a Prometheus text-format parser, not by the
 * code under test, and figures looked up by name and labels.
 */
export type Family = {
  name: string;
  help: string;
  type: "COUNTER" | "GAUGE" | "HISTOGRAM" | "SUMMARY" | "UNTYPED";
  metrics: Sample[];
};
export type Sample = {
  labels?: Record<string, string>;
  value?: string;
  buckets?: Record<string, string>;
  count?: string;
  sum?: string;
};

/**
 * `families` as the parser reads the text. `series`: the same text with histograms' TYPE lines left out,
 * so each `_bucket`, `_sum` and `_count` sample keeps its labels: this parser folds every series of a
 * histogram into one, losing their labels (it was written for unlabelled ones). Untyped, each run of
 * same-named lines is a family of its own: a name may have several.
 */
export type Scrape = { families: Family[]; series: Family[]; text: string };

export function parseMetrics(text: string): Scrape {
  const untyped = text
    .split("\n")
    .filter((line) => !/^# TYPE \S+ histogram$/.test(line))
    .join("\n");
  return {
    families: parsePrometheusTextFormat(text) as Family[],
    series: parsePrometheusTextFormat(untyped) as Family[],
    text,
  };
}

export type HistogramSeries = { buckets: Record<string, number>; sum: number; count: number };

/** The one series of histogram `name` with exactly these labels (besides `le`). */
export function histogram(scrape: Scrape, name: string, labels: Record<string, string>): HistogramSeries {
  const matching = (suffix: string) =>
    scrape.series
      .filter((f) => f.name === `${name}${suffix}`)
      .flatMap((f) => f.metrics)
      .filter((sample) => {
        const { le: _le, ...own } = sample.labels ?? {};
        return JSON.stringify(Object.entries(own).sort()) === JSON.stringify(Object.entries(labels).sort());
      });
  const [sum] = matching("_sum");
  const [count] = matching("_count");
  if (!sum || !count)
    throw new Error(`no series of ${name} with ${JSON.stringify(labels)} in:\n${scrape.text}`);
  const buckets = Object.fromEntries(matching("_bucket").map((b) => [b.labels?.le ?? "", Number(b.value)]));
  return { buckets, sum: Number(sum.value), count: Number(count.value) };
}

export function family(scrape: Scrape, name: string): Family {
  const found = scrape.families.find((f) => f.name === name);
  if (!found) throw new Error(`no metric ${name} in:\n${scrape.text}`);
  return found;
}

/** The samples of `name` whose labels include `labels`. */
export function samples(scrape: Scrape, name: string, labels: Record<string, string> = {}): Sample[] {
  return family(scrape, name).metrics.filter((sample) =>
    Object.entries(labels).every(([key, value]) => sample.labels?.[key] === value),
  );
}

/** The value of the one sample of `name` with exactly those labels' values; undefined when there is none. */
export function valueOf(
  scrape: Scrape,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const found = samples(scrape, name, labels);
  if (found.length > 1) throw new Error(`${found.length} samples of ${name} match ${JSON.stringify(labels)}`);
  return found[0]?.value === undefined ? undefined : Number(found[0].value);
}

/** `values` as a map from one label's value to the figure, for assertions over every series at once. */
export function byLabel(scrape: Scrape, name: string, label: string, where: Record<string, string> = {}) {
  return Object.fromEntries(
    samples(scrape, name, where).map((sample) => [sample.labels?.[label] ?? "", Number(sample.value)]),
  );
}

export type RawAnswer = { status: number; headers: Record<string, string>; body: string };

/**
 * GET over a plain TCP connection, as a scraper would. Not fetch or node:http, which nock intercepts in
 * tests that mock GitHub (it lets loopback through, but reports each such request as one nobody mocked).
 */
export function rawGet(host: string, port: number, path: string, headers: Record<string, string> = {}) {
  return new Promise<RawAnswer>((resolve, reject) => {
    const socket = connect(port, host);
    const parts: Buffer[] = [];
    socket.on("data", (part: Buffer) => parts.push(part));
    socket.on("error", reject);
    socket.on("end", () => {
      const text = Buffer.concat(parts).toString("utf8");
      const split = text.indexOf("\r\n\r\n");
      const [statusLine = "", ...lines] = text.slice(0, split).split("\r\n");
      resolve({
        status: Number(statusLine.split(" ")[1]),
        headers: Object.fromEntries(
          lines.map((line) => [
            line.slice(0, line.indexOf(":")).toLowerCase(),
            line.slice(line.indexOf(":") + 1).trim(),
          ]),
        ),
        body: text.slice(split + 4),
      });
    });
    const head = Object.entries({ host: `${host}:${port}`, connection: "close", ...headers })
      .map(([name, value]) => `${name}: ${value}\r\n`)
      .join("");
    socket.write(`GET ${path} HTTP/1.1\r\n${head}\r\n`);
  });
}
