/**
 * Validates rendered custom resources as the API server would, against the upstream CRDs
 * vendored in test/fixtures/crds (SOURCES.md there names each file's origin): the OpenAPI v3
 * schema of the exact version rendered (ajv), then every `x-kubernetes-validations` CEL rule of
 * that schema, evaluated with @bufbuild/cel on the object with the schema's defaults applied.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { celEnv, CelEnv, isCelError, parse, plan } from "@bufbuild/cel";
import { strings } from "@bufbuild/cel/ext";
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

/** A compiled CRD version: the schema validator and the raw schema (for the CEL rules and defaults). */
interface CompiledCrd {
  readonly validate: ValidateFunction;
  readonly schema: Json;
}

const cache = new Map<string, CompiledCrd>();

function crdFor(apiVersion: string, kind: string): CompiledCrd {
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
      const compiled = { validate: ajv.compile(withJsPatterns(v.schema.openAPIV3Schema)), schema: v.schema.openAPIV3Schema };
      cache.set(key, compiled);
      return compiled;
    }
  }
  throw new Error(`no CRD for ${key} in ${CRD_DIR}`);
}

// ---------------------------------------------------------------------------------------------
// CEL: x-kubernetes-validations, as the API server evaluates them
// (https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/#validation-rules).
// ---------------------------------------------------------------------------------------------

/**
 * The CEL environment of a validation rule. The API server's environment is standard CEL plus
 * Kubernetes' libraries; of those, the vendored CRDs' rules use only standard functions and
 * macros (size, has, all, exists, exists_one, filter, contains, startsWith, endsWith, matches,
 * duration, `in`), which @bufbuild/cel implements with RE2 regular expressions as Kubernetes
 * does. The strings extension the API server also registers (lowerAscii, split, …) is added so
 * a refreshed CRD that uses it still evaluates; a rule calling anything else fails loudly as an
 * evaluation error, never passes silently.
 */
const env: CelEnv = celEnv({ funcs: strings });

/** CEL keywords and reserved words a property name is escaped from (`namespace` → `__namespace__`). */
const CEL_RESERVED = new Set(["true", "false", "null", "in", "as", "break", "const", "continue", "else", "for", "function", "if", "import", "let", "loop", "package", "namespace", "return", "var", "void", "while"]);

/**
 * A property name as a rule sees it: Kubernetes escapes reserved words and the characters CEL
 * identifiers cannot hold (`__` → `__underscores__`, `.` → `__dot__`, `-` → `__dash__`,
 * `/` → `__slash__`).
 */
export function celPropertyName(name: string): string {
  if (CEL_RESERVED.has(name)) return `__${name}__`;
  return name.replace(/__/g, "__underscores__").replace(/\./g, "__dot__").replace(/-/g, "__dash__").replace(/\//g, "__slash__");
}

/**
 * The object with the schema's `default`s applied where a property is absent (the API server
 * defaults before it validates, and rules such as the HTTPRoute match count read defaulted fields).
 */
export function withDefaults(schema: Json, value: Json): Json {
  if (schema === undefined || value === null || value === undefined) return value;
  if (Array.isArray(value)) return value.map((v) => withDefaults(schema.items, v));
  if (typeof value !== "object") return value;
  const out: Json = {};
  for (const [k, v] of Object.entries(value)) out[k] = withDefaults(schema.properties?.[k] ?? (typeof schema.additionalProperties === "object" ? schema.additionalProperties : undefined), v);
  for (const [k, sub] of Object.entries<Json>(schema.properties ?? {})) {
    if (out[k] === undefined && sub.default !== undefined) out[k] = withDefaults(sub, structuredClone(sub.default));
  }
  return out;
}

/** The value as CEL sees it under `schema`: integers as int (bigint), objects as maps with escaped property names. */
function celValue(schema: Json, value: Json): unknown {
  if (value === null || value === undefined) return value;
  if (Array.isArray(value)) return value.map((v) => celValue(schema?.items, v));
  if (typeof value === "number") return schema?.type === "integer" && Number.isInteger(value) ? BigInt(value) : value;
  if (typeof value !== "object") return value;
  const map = new Map<string, unknown>();
  for (const [k, v] of Object.entries(value)) {
    const declared = schema?.properties?.[k];
    map.set(declared ? celPropertyName(k) : k, celValue(declared ?? (typeof schema?.additionalProperties === "object" ? schema.additionalProperties : undefined), v));
  }
  return map;
}

const programs = new Map<string, ReturnType<typeof plan>>();

function program(rule: string): ReturnType<typeof plan> {
  let p = programs.get(rule);
  if (!p) {
    p = plan(env, parse(rule));
    programs.set(rule, p);
  }
  return p;
}

/** Every rule of every node of `schema`, with the JSON path of the node (for the tests that list them). */
export function celRules(schema: Json, at = ""): Array<{ path: string; rule: string; message?: string }> {
  if (!schema || typeof schema !== "object") return [];
  const own = (schema["x-kubernetes-validations"] ?? []).map((r: Json) => ({ path: at || "/", rule: r.rule, message: r.message }));
  const props = Object.entries<Json>(schema.properties ?? {}).flatMap(([k, sub]) => celRules(sub, `${at}/${k}`));
  const items = schema.items ? celRules(schema.items, `${at}/*`) : [];
  const extra = typeof schema.additionalProperties === "object" ? celRules(schema.additionalProperties, `${at}/{}`) : [];
  return [...own, ...props, ...items, ...extra];
}

/**
 * The CEL rule failures of `value` under `schema`, each as `<json path> <message> (rule: …)`.
 * Transition rules (those reading `oldSelf`) only run on update and are skipped: a rendered
 * object is always a create here.
 */
export function celErrors(schema: Json, value: Json, at = ""): string[] {
  if (!schema || value === undefined || value === null) return [];
  const errors: string[] = [];
  for (const r of (schema["x-kubernetes-validations"] ?? []) as Json[]) {
    if (/\boldSelf\b/.test(r.rule)) continue;
    const result = program(r.rule)({ self: celValue(schema, value) } as never);
    if (isCelError(result)) errors.push(`${at || "/"} could not evaluate rule ${JSON.stringify(r.rule)}: ${result.message}`);
    else if (result !== true) errors.push(`${at || "/"} ${r.message ?? `failed rule ${JSON.stringify(r.rule)}`} (rule: ${r.rule})`);
  }
  if (Array.isArray(value)) value.forEach((v, i) => errors.push(...celErrors(schema.items, v, `${at}/${i}`)));
  else if (typeof value === "object") {
    for (const [k, v] of Object.entries(value)) {
      const sub = schema.properties?.[k] ?? (typeof schema.additionalProperties === "object" ? schema.additionalProperties : undefined);
      errors.push(...celErrors(sub, v, `${at}/${k}`));
    }
  }
  return errors;
}

/** The openAPIV3Schema of a vendored CRD version (for tests that inspect its rules). */
export function crdSchema(apiVersion: string, kind: string): Json {
  return crdFor(apiVersion, kind).schema;
}

/**
 * The errors of a rendered custom resource (apiVersion, kind, metadata, spec) as the API server
 * would report them: schema errors (ajv), then CEL rule failures; empty when it is valid.
 */
export function crdErrors(resource: { apiVersion: string; kind: string; metadata?: unknown; spec: unknown }): string[] {
  const { validate, schema } = crdFor(resource.apiVersion, resource.kind);
  const schemaErrors = validate(resource) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message ?? ""} ${JSON.stringify(e.params)}`);
  return [...schemaErrors, ...celErrors(schema, withDefaults(schema, resource))];
}
