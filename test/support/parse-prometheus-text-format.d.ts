/** The slice of parse-prometheus-text-format (no types of its own) the metrics tests use. */
declare module 'parse-prometheus-text-format' {
  export default function parsePrometheusTextFormat(text: string): unknown[];
}
