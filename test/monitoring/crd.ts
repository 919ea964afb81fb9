/**
 * CRD validation for the monitoring.coreos.com resources. Delegates to the shared crdErrors;
 * the only fallback is for the PrometheusRule CRD, whose `partial_response_strategy` pattern
 * `^(?i)(abort|warn)?$` uses Go's inline case-insensitive flag, which JavaScript regexes (and
 * so ajv) refuse. The fallback compiles the same upstream schema with that one kind of pattern
 * rewritten to an equivalent case-insensitive one. Remove it once test/helpers/crds.ts handles
 * `(?i)` itself.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import Ajv, { ValidateFunction } from "ajv";
import { parseAllDocuments } from "yaml";
import { CRD_DIR, crdErrors } from "../helpers/crds";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

/** `^(?i)(abort|warn)?$` → `^([aA][bB][oO][rR][tT]|[wW][aA][rR][nN])?$`; only plain letters, groups and alternation are handled. */
export function caseInsensitivePattern(pattern: string): string {
  const body = pattern.replace("(?i)", "");
  if (/[\\[\]]/.test(body)) throw new Error(`cannot rewrite ${pattern}: escapes and character classes are not handled`);
  return body.replace(/[a-zA-Z]/g, (c) => `[${c.toLowerCase()}${c.toUpperCase()}]`);
}

function rewrite(node: Json): Json {
  if (Array.isArray(node)) return node.map(rewrite);
  if (node === null || typeof node !== "object") return node;
  const out: Json = {};
  for (const [k, v] of Object.entries(node)) out[k] = k === "pattern" && typeof v === "string" && v.includes("(?i)") ? caseInsensitivePattern(v) : rewrite(v);
  return out;
}

let fallback: ValidateFunction | undefined;

function prometheusRuleValidator(): ValidateFunction {
  if (fallback) return fallback;
  const ajv = new Ajv({ allErrors: true, strict: false });
  for (const k of ["x-kubernetes-preserve-unknown-fields", "x-kubernetes-int-or-string", "x-kubernetes-validations", "x-kubernetes-list-type", "x-kubernetes-list-map-keys", "x-kubernetes-map-type", "x-kubernetes-embedded-resource"]) ajv.addKeyword(k);
  ajv.addFormat("int32", { type: "number", validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 });
  ajv.addFormat("int64", { type: "number", validate: (n: number) => Number.isInteger(n) });
  const crd: Json = parseAllDocuments(fs.readFileSync(path.join(CRD_DIR, "monitoring-prometheusrule.yaml"), "utf8"))
    .map((d) => d.toJS())
    .find((d: Json) => d?.kind === "CustomResourceDefinition" && d.spec.names.kind === "PrometheusRule");
  const v1 = crd.spec.versions.find((v: Json) => v.name === "v1");
  fallback = ajv.compile(rewrite(v1.schema.openAPIV3Schema));
  return fallback;
}

/** crdErrors, with the PrometheusRule fallback described above. */
export function monitoringCrdErrors(resource: { apiVersion: string; kind: string; metadata?: unknown; spec: unknown }): string[] {
  try {
    return crdErrors(resource);
  } catch (e) {
    const goInlineFlag = e instanceof SyntaxError && e.message.includes("(?i)");
    if (!goInlineFlag || resource.kind !== "PrometheusRule") throw e;
  }
  const validate = prometheusRuleValidator();
  if (validate(resource)) return [];
  return (validate.errors ?? []).map((err) => `${err.instancePath || "/"} ${err.message ?? ""} ${JSON.stringify(err.params)}`);
}
