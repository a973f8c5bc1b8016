// The parser ships no types; test/helpers/prometheus.ts gives its output a shape.
declare module "parse-prometheus-text-format" {
  export default function parsePrometheusTextFormat(text: string): unknown[];
}
