/**
 * Validates rendered custom resources against the upstream CRD schemas vendored in
 * test/fixtures/crds (SOURCES.md there names each file's origin), using the OpenAPI v3 schema
 * of the exact version rendered.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import Ajv, { ValidateFunction } from "ajv";
import { parseAllDocuments } from "yaml";

/** Where the vendored CRDs live. */
export const CRD_DIR = path.resolve(__dirname, "..", "fixtures", "crds");

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const ajv = new Ajv({ allErrors: true, strict: false });
// Kubernetes' structural-schema extensions carry no validation ajv needs to know about.
for (const k of ["x-kubernetes-preserve-unknown-fields", "x-kubernetes-int-or-string", "x-kubernetes-validations", "x-kubernetes-list-type", "x-kubernetes-list-map-keys", "x-kubernetes-map-type", "x-kubernetes-embedded-resource"]) {
  ajv.addKeyword(k);
}

// The OpenAPI formats Kubernetes CRDs use, checked as the API server would.
ajv.addFormat("int32", { type: "number", validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 });
ajv.addFormat("int64", { type: "number", validate: (n: number) => Number.isInteger(n) });
ajv.addFormat("double", { type: "number", validate: () => true });
ajv.addFormat("byte", /^[A-Za-z0-9+/]*={0,2}$/);
ajv.addFormat("date-time", /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/);

/**
 * Go's inline case-insensitive flag (`^(?i)(abort|warn)?$` in the PrometheusRule CRD) is not
 * JavaScript regex syntax; the same language is matched by spelling each letter both ways.
 * Only plain letters, groups and alternation occur in such patterns upstream; anything else
 * is refused rather than guessed at.
 */
export function caseInsensitivePattern(pattern: string): string {
  const body = pattern.replace("(?i)", "");
  if (/[\\[\]]/.test(body)) throw new Error(`cannot rewrite ${pattern}: escapes and character classes are not handled`);
  return body.replace(/[a-zA-Z]/g, (c) => `[${c.toLowerCase()}${c.toUpperCase()}]`);
}

function withJsPatterns(node: Json): Json {
  if (Array.isArray(node)) return node.map(withJsPatterns);
  if (node === null || typeof node !== "object") return node;
  const out: Json = {};
  for (const [k, v] of Object.entries(node)) {
    out[k] = k === "pattern" && typeof v === "string" && v.includes("(?i)") ? caseInsensitivePattern(v) : withJsPatterns(v);
  }
  return out;
}

const cache = new Map<string, ValidateFunction>();

function validatorFor(apiVersion: string, kind: string): ValidateFunction {
  const key = `${apiVersion}/${kind}`;
  const cached = cache.get(key);
  if (cached) return cached;
  const [group, version] = apiVersion.split("/");
  for (const file of fs.readdirSync(CRD_DIR).filter((f) => f.endsWith(".yaml"))) {
    for (const doc of parseAllDocuments(fs.readFileSync(path.join(CRD_DIR, file), "utf8"))) {
      const crd: Json = doc.toJS();
      if (crd?.kind !== "CustomResourceDefinition" || crd.spec.group !== group || crd.spec.names.kind !== kind) continue;
      const v = crd.spec.versions.find((x: Json) => x.name === version);
      if (!v) throw new Error(`${file} has no version ${version} of ${kind}`);
      const fn = ajv.compile(withJsPatterns(v.schema.openAPIV3Schema));
      cache.set(key, fn);
      return fn;
    }
  }
  throw new Error(`no CRD for ${key} in ${CRD_DIR}`);
}

/**
 * The schema errors of a rendered custom resource (apiVersion, kind, metadata, spec), as
 * readable strings; empty when it is valid.
 */
export function crdErrors(resource: { apiVersion: string; kind: string; metadata?: unknown; spec: unknown }): string[] {
  const validate = validatorFor(resource.apiVersion, resource.kind);
  if (validate(resource)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message ?? ""} ${JSON.stringify(e.params)}`);
}
