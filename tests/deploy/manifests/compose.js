// Checks for deploy/docker-compose.yml as `docker compose` (v2) reads it:
// ${VAR:-default} interpolated the way compose does, then validated against
// the Compose Specification JSON schema, which compose v2 enforces and
// docker-compose 1.29 does not know.
"use strict";

const fs = require("fs");
const path = require("path");
const Ajv = require("ajv");

const NAME = /^[_a-zA-Z][_a-zA-Z0-9]*/;

// The index of the "}" that closes the "${" at text[open - 1], text[open].
function closingBrace(text, open, where) {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    if (text[i] === "{") depth++;
    else if (text[i] === "}" && --depth === 0) return i;
  }
  throw new Error(`${where}: unclosed '\${' in '${text}'`);
}

// One ${...} body: NAME, or NAME followed by :- - :? ? :+ + and a word that
// is itself interpolated.
function bracedValue(body, env, where) {
  const match = /^([_a-zA-Z][_a-zA-Z0-9]*)(?:(:?[-?+])([\s\S]*))?$/.exec(body);
  if (!match) throw new Error(`${where}: invalid interpolation '\${${body}}'`);
  const [, name, op, word] = match;
  const set = Object.prototype.hasOwnProperty.call(env, name);
  const filled = set && env[name] !== "";
  const present = op && op.startsWith(":") ? filled : set;
  if (!op) return set ? env[name] : "";
  if (op.endsWith("-")) return present ? env[name] : interpolateString(word, env, where);
  if (op.endsWith("+")) return present ? interpolateString(word, env, where) : "";
  if (!present) throw new Error(`${where}: required variable ${name} is missing a value: ${word}`);
  return env[name];
}

// A string with $$, $NAME and ${...} replaced from env, or an Error thrown
// where compose would refuse the template. Unset variables become "".
function interpolateString(text, env, where) {
  let out = "";
  let i = 0;
  for (let dollar; (dollar = text.indexOf("$", i)) >= 0; ) {
    out += text.slice(i, dollar);
    const rest = text.slice(dollar + 1);
    const bare = NAME.exec(rest);
    if (rest.startsWith("$")) {
      out += "$";
      i = dollar + 2;
    } else if (bare) {
      out += Object.prototype.hasOwnProperty.call(env, bare[0]) ? env[bare[0]] : "";
      i = dollar + 1 + bare[0].length;
    } else if (rest.startsWith("{")) {
      const close = closingBrace(text, dollar + 1, where);
      out += bracedValue(text.slice(dollar + 2, close), env, where);
      i = close + 1;
    } else {
      throw new Error(`${where}: invalid interpolation '${text}' (a lone '$'; write '$$')`);
    }
  }
  return out + text.slice(i);
}

// A copy of a parsed compose file with every string value (not the keys)
// interpolated from env, as compose does before it validates.
function interpolate(value, env, where = "") {
  if (typeof value === "string") return interpolateString(value, env, where || "(top)");
  if (Array.isArray(value)) {
    return value.map((item, i) => interpolate(item, env, `${where}[${i}]`));
  }
  if (value !== null && typeof value === "object") {
    const copy = {};
    for (const [key, item] of Object.entries(value)) {
      copy[key] = interpolate(item, env, where ? `${where}.${key}` : key);
    }
    return copy;
  }
  return value;
}

let s_validator = null;

// The Compose Specification schema that dclint ships (a copy of the
// compose-spec project's schema/compose-spec.json) and its draft.
function schemaLoad() {
  const dir = path.dirname(require.resolve("dclint/package.json"));
  const schema = JSON.parse(fs.readFileSync(path.join(dir, "schemas/compose.schema.json"), "utf8"));
  const draft = String(schema.$schema || "");
  if (!/json-schema\.org\/draft-07\/schema#?$/.test(draft)) {
    throw new Error(`the compose schema declares ${draft}, not draft-07`);
  }
  return schema;
}

// The compiled schema, made once: ajv's default class is draft-07, the
// draft the schema declares (by an https URL that ajv does not know, so
// $schema is dropped).
function validatorGet() {
  if (!s_validator) {
    const schema = schemaLoad();
    delete schema.$schema;
    const ajv = new Ajv({ allErrors: true, allowUnionTypes: true, strictTypes: false });
    const version = JSON.parse(fs.readFileSync(require.resolve("dclint/package.json"))).version;
    s_validator = {
      validate: ajv.compile(schema),
      about: `${schema.title}, ${schema.$id}, draft-07, from dclint@${version}`,
    };
  }
  return s_validator;
}

// "services.worker.stop_grace_periode is not allowed" and the like, from the
// deepest ajv errors (the oneOf and type errors above them say less).
function errorsFormat(errors) {
  const depth = (e) => e.instancePath.split("/").length;
  const deepest = Math.max(...errors.map(depth));
  const lines = errors
    .filter((e) => depth(e) === deepest && e.keyword !== "oneOf")
    .map((e) => {
      const at = e.instancePath.slice(1).replace(/\//g, ".");
      if (e.keyword === "additionalProperties") {
        return `${at ? at + "." : ""}${e.params.additionalProperty} is not allowed`;
      }
      if (e.keyword === "enum") return `${at} must be one of ${e.params.allowedValues.join(", ")}`;
      return `${at || "the file"} ${e.message}`;
    });
  return [...new Set(lines.length > 0 ? lines : errors.map((e) => e.message))];
}

function checkSchema(ctx) {
  const { validate } = validatorGet();
  return validate(ctx.compose) ? [] : errorsFormat(validate.errors);
}

// JSON with object keys sorted, to compare two loads of one file.
function canonical(value) {
  return JSON.stringify(value, (key, item) =>
    item && typeof item === "object" && !Array.isArray(item)
      ? Object.fromEntries(Object.entries(item).sort(([a], [b]) => a.localeCompare(b)))
      : item,
  );
}

// docker-compose 1.29's `config` output: the same schema, and the same
// image and environment as the interpolation here produced.
function checkConfigAgrees(ctx) {
  const problems = checkSchema({ compose: ctx.config }).map((p) => `docker-compose config: ${p}`);
  const ours = ctx.compose.services || {};
  const theirs = ctx.config.services || {};
  for (const name of new Set([...Object.keys(ours), ...Object.keys(theirs)])) {
    const a = ours[name] || {};
    const b = theirs[name] || {};
    const env = new Set([...Object.keys(a.environment || {}), ...Object.keys(b.environment || {})]);
    const keys = ["image", ...[...env].map((v) => `environment.${v}`)];
    for (const key of keys) {
      const pick = (service) => key.split(".").reduce((v, k) => (v || {})[k], service);
      if (canonical(pick(a)) !== canonical(pick(b))) {
        problems.push(
          `${name}.${key}: interpolated ${canonical(pick(a))}, ` +
            `docker-compose config ${canonical(pick(b))}`,
        );
      }
    }
  }
  return problems;
}

// Templates and what compose makes of them with A=a, E empty, U unset
// (null: compose refuses the template).
const INTERPOLATIONS = [
  ["${U:-d}", "d"],
  ["${E:-d}", "d"],
  ["${E-d}", ""],
  ["${A:-d}", "a"],
  ["127.0.0.1:${U:-55${A}}:5570", "127.0.0.1:55a:5570"],
  ["$$A $A${U}", "$A a"],
  ["${U:+x}${A:+y}${E+z}", "yz"],
  ["${A:?needed}", "a"],
  ["${U:?needed}", null],
  ["${E?needed}", ""],
  ["cost $5", null],
  ["${A", null],
];

function checkInterpolation() {
  const env = { A: "a", E: "" };
  const problems = [];
  for (const [text, want] of INTERPOLATIONS) {
    let got;
    try {
      got = interpolateString(text, env, "case");
    } catch {
      got = null;
    }
    if (got !== want) {
      problems.push(`'${text}' gave ${JSON.stringify(got)}, not ${JSON.stringify(want)}`);
    }
  }
  return problems;
}

const INTERPOLATION_CHECK = { name: "compose: interpolation cases", run: checkInterpolation };
const SCHEMA_CHECK = {
  name: "compose: conforms to the Compose Specification schema",
  run: checkSchema,
};
const CONFIG_CHECK = { name: "compose: docker-compose config agrees", run: checkConfigAgrees };

// The checks for a ctx { compose, config }; the last only with a config.
function checksFor(ctx) {
  const checks = [INTERPOLATION_CHECK, SCHEMA_CHECK];
  return ctx.config ? [...checks, CONFIG_CHECK] : checks;
}

module.exports = { checksFor, interpolate, validatorGet };
