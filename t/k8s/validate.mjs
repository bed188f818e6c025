// Checks Kubernetes manifests against the API's own schemas, offline.
//
//   node validate.mjs FILE...
//
// Every YAML document must be an object of a kind the API knows (by its
// apiVersion and kind) that its OpenAPI schema accepts: the schemas come
// compiled with kubernetes-models (pinned in package.json), nothing is
// fetched. The schemas leave unknown fields alone, as the API server's
// non-strict decoding would (it drops them: a typo'd field is a setting
// that silently does nothing), so unknown fields are refused here too,
// as `kubectl apply --validate=strict` does: while a validator runs, a
// Proxy records which keys it reads of each object; a key it never read
// is not in the schema. Objects whose keys the validator enumerates
// (maps such as labels, ConfigMap data) accept any key.
//
// A Kustomization (not an API object) is checked for known fields only.
// A ConfigMap's data entries named *.yaml or *.yml must parse as YAML.
//
// Prints one JSON document on stdout: {"objects": [...], "errors": [...]},
// each object with its file, apiVersion, kind, name and content (parsed
// ConfigMap entries under "parsed"), each error a line for a person.
// Exits 1 when there is an error, 2 on bad usage.

import { readFileSync } from "node:fs";
import { parseAllDocuments, parse } from "yaml";

const KUSTOMIZATION_FIELDS = new Set([
  "apiVersion", "kind", "metadata", "resources", "components", "images",
  "labels", "commonLabels", "commonAnnotations", "namespace", "namePrefix",
  "nameSuffix", "patches", "replicas", "configMapGenerator",
  "secretGenerator", "generatorOptions", "replacements", "sortOptions",
  "buildMetadata", "openapi", "crds", "generators", "transformers",
  "validators", "helmCharts", "helmGlobals",
]);
const KUSTOMIZATION_IMAGE_FIELDS = new Set([
  "name", "newName", "newTag", "digest", "tagSuffix",
]);

const files = process.argv.slice(2);
if (files.length === 0) {
  process.stderr.write("usage: node validate.mjs FILE...\n");
  process.exit(2);
}

const objects = [];
const errors = [];

// "apps/v1" -> kubernetes-models/apps/v1, "v1" (the core group) ->
// kubernetes-models/v1
async function modelClass(apiVersion, kind) {
  if (typeof apiVersion !== "string" || !/^[a-z0-9.\-]+(\/[a-z0-9]+)?$/.test(apiVersion)) {
    return null;
  }
  let mod;
  try {
    mod = await import(`kubernetes-models/${apiVersion}`);
  } catch {
    return null;
  }
  const cls = mod[kind];
  return typeof cls === "function" && cls.apiVersion === apiVersion ? cls : null;
}

// Wraps data so that every key read is recorded; info maps each original
// object to {read: Set, enumerated: bool}.
function tracked(value, info) {
  if (value === null || typeof value !== "object") {
    return value;
  }
  let entry = info.get(value);
  if (!entry) {
    entry = { read: new Set(), enumerated: false, proxy: null };
    info.set(value, entry);
  }
  if (!entry.proxy) {
    entry.proxy = new Proxy(value, {
      get(target, key, receiver) {
        if (typeof key === "string") entry.read.add(key);
        return tracked(Reflect.get(target, key, receiver), info);
      },
      has(target, key) {
        if (typeof key === "string") entry.read.add(key);
        return Reflect.has(target, key);
      },
      getOwnPropertyDescriptor(target, key) {
        if (typeof key === "string") entry.read.add(key);
        return Reflect.getOwnPropertyDescriptor(target, key);
      },
      ownKeys(target) {
        entry.enumerated = true;
        return Reflect.ownKeys(target);
      },
    });
  }
  return entry.proxy;
}

// Keys of plain objects the validator visited but never read.
function unknownFields(value, info, path, out) {
  if (value === null || typeof value !== "object") {
    return;
  }
  if (Array.isArray(value)) {
    value.forEach((v, i) => unknownFields(v, info, `${path}/${i}`, out));
    return;
  }
  const entry = info.get(value);
  if (!entry) {
    return;     // not visited: free-form below a known field
  }
  for (const key of Object.keys(value)) {
    if (!entry.enumerated && !entry.read.has(key)) {
      out.push(`${path}/${key}`);
      continue;
    }
    unknownFields(value[key], info, `${path}/${key}`, out);
  }
}

function checkKustomization(where, doc) {
  for (const key of Object.keys(doc)) {
    if (!KUSTOMIZATION_FIELDS.has(key)) {
      errors.push(`${where}: unknown field /${key}`);
    }
  }
  if (doc.resources !== undefined && !Array.isArray(doc.resources)) {
    errors.push(`${where}: /resources must be a list`);
  }
  for (const [i, image] of (Array.isArray(doc.images) ? doc.images : []).entries()) {
    for (const key of Object.keys(image ?? {})) {
      if (!KUSTOMIZATION_IMAGE_FIELDS.has(key)) {
        errors.push(`${where}: unknown field /images/${i}/${key}`);
      }
    }
  }
}

for (const file of files) {
  let text;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    errors.push(`${file}: ${e.message}`);
    continue;
  }
  // uniqueKeys (the default): a key given twice is an error, not the last
  // one winning
  const docs = parseAllDocuments(text, { prettyErrors: true });
  for (const [n, doc] of docs.entries()) {
    const at = `${file} (document ${n + 1})`;
    if (doc.errors.length) {
      errors.push(`${at}: YAML: ${doc.errors.map((e) => e.message).join("; ")}`);
      continue;
    }
    const data = doc.toJS();
    if (data === null || data === undefined) {
      continue;     // an empty document (a trailing ---)
    }
    if (typeof data !== "object" || Array.isArray(data)) {
      errors.push(`${at}: not a Kubernetes object`);
      continue;
    }
    const { apiVersion, kind } = data;
    const name = data.metadata?.name;
    const where = `${at} ${kind}/${name}`;

    if (typeof apiVersion === "string" && apiVersion.startsWith("kustomize.config.k8s.io/")
        && kind === "Kustomization") {
      checkKustomization(where, data);
      objects.push({ file, apiVersion, kind, name, object: data });
      continue;
    }

    const cls = await modelClass(apiVersion, kind);
    if (!cls) {
      errors.push(`${where}: no such apiVersion/kind in the Kubernetes API: ${apiVersion} ${kind}`);
      continue;
    }
    if (typeof name !== "string" || name === "") {
      errors.push(`${where}: /metadata/name is missing`);
    }

    const info = new Map();
    try {
      cls.prototype.validate.call(tracked(data, info));
    } catch (e) {
      errors.push(`${where}: ${e.message}`);
      continue;
    }
    const unknown = [];
    unknownFields(data, info, "", unknown);
    for (const path of unknown) {
      errors.push(`${where}: unknown field ${path} (not in the ${apiVersion} ${kind} schema)`);
    }

    const entry = { file, apiVersion, kind, name, object: data };
    if (kind === "ConfigMap" && data.data) {
      entry.parsed = {};
      for (const [key, value] of Object.entries(data.data)) {
        if (!/\.ya?ml$/.test(key)) continue;
        try {
          entry.parsed[key] = parse(value);
        } catch (e) {
          errors.push(`${where}: data ${key} is not YAML: ${e.message}`);
        }
      }
    }
    objects.push(entry);
  }
}

for (const e of errors) {
  process.stderr.write(`${e}\n`);
}
process.stdout.write(JSON.stringify({ objects, errors }) + "\n");
process.exit(errors.length ? 1 : 0);
