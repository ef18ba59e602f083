// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the strings are Terraform expressions, not JavaScript templates
// The Terraform under infra/terraform as data: every .tf file parsed with HashiCorp's own HCL parser
// (@cdktf/hcl2json, WebAssembly, offline), each module's top-level blocks merged across its files,
// and the IAM grants of the switchyard module read off its *_iam_member resources. Used by
// terraform.test.ts (which checks the Terraform against the code) and scripts/docs.ts (which
// generates the least-privilege table of infra/DEPLOY.md from it). No terraform binary, no network.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parse } from '@cdktf/hcl2json';

export const terraformRoot = import.meta.dirname;
export const repoRoot = join(terraformRoot, '..', '..');

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type Obj = { [key: string]: Json };

/** One Terraform module (a folder of .tf files), its top-level blocks merged across files. */
export interface Module {
  dir: string;
  files: Record<string, Obj>;
  resources: Record<string, Record<string, Obj>>;
  data: Record<string, Record<string, Obj>>;
  locals: Obj;
  variables: Record<string, Obj>;
  modules: Record<string, Obj>;
  terraform: Obj[];
}

export function tfFiles(dir: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory() && !entry.name.startsWith('.')) found.push(...tfFiles(path));
    else if (entry.isFile() && entry.name.endsWith('.tf')) found.push(path);
  }
  return found.sort();
}

/** A block that HCL allows once, as hcl2json gives it (a list of one). */
export function one(value: Json | undefined, what: string): Obj {
  if (!Array.isArray(value) || value.length !== 1) throw new Error(`${what}: expected exactly one block`);
  return value[0] as Obj;
}

export async function loadModule(dir: string): Promise<Module> {
  const m: Module = {
    dir,
    files: {},
    resources: {},
    data: {},
    locals: {},
    variables: {},
    modules: {},
    terraform: [],
  };
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.tf'))) {
    const parsed = (await parse(file, readFileSync(join(dir, file), 'utf8'))) as Obj;
    m.files[file] = parsed;
    for (const [kind, target] of [
      ['resource', m.resources],
      ['data', m.data],
    ] as const) {
      for (const [type, byName] of Object.entries((parsed[kind] ?? {}) as Obj)) {
        for (const [name, blocks] of Object.entries(byName as Obj)) {
          target[type] ??= {};
          if (target[type][name]) throw new Error(`${dir}: ${kind} ${type}.${name} declared twice`);
          target[type][name] = one(blocks, `${kind} ${type}.${name}`);
        }
      }
    }
    for (const block of (parsed.locals ?? []) as Obj[]) Object.assign(m.locals, block);
    for (const [name, blocks] of Object.entries((parsed.variable ?? {}) as Obj)) {
      m.variables[name] = one(blocks, `variable ${name}`);
    }
    for (const [name, blocks] of Object.entries((parsed.module ?? {}) as Obj)) {
      m.modules[name] = one(blocks, `module ${name}`);
    }
    m.terraform.push(...((parsed.terraform ?? []) as Obj[]));
  }
  return m;
}

export const moduleDirs = {
  switchyard: join(terraformRoot, 'modules', 'switchyard'),
  rbac: join(terraformRoot, 'modules', 'switchyard-rbac'),
  production: join(terraformRoot, 'examples', 'production'),
};

/**
 * The value of a parsed expression with the module's variables at their defaults (or `vars`): a
 * string that is exactly `${local.NAME}` becomes that local's value, and `${var.NAME}` inside a
 * template is substituted. Anything else (function calls, references to resources) stays as text.
 */
export function evaluate(m: Module, value: Json | undefined, vars: Record<string, string> = {}): Json {
  if (value === undefined) throw new Error('evaluating an absent value');
  if (typeof value === 'string') {
    const local = /^\$\{local\.([A-Za-z_][\w-]*)\}$/.exec(value);
    if (local) {
      const name = local[1]!;
      if (!(name in m.locals)) throw new Error(`${m.dir}: no local ${name}`);
      return evaluate(m, m.locals[name], vars);
    }
    return value.replace(/\$\{var\.([A-Za-z_]\w*)\}/g, (_, name: string) => {
      if (name in vars) return vars[name]!;
      const v = m.variables[name];
      if (!v || typeof v.default !== 'string')
        throw new Error(`${m.dir}: variable ${name} has no string default`);
      return v.default;
    });
  }
  if (Array.isArray(value)) return value.map((v) => evaluate(m, v, vars));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, evaluate(m, v, vars)]));
  }
  return value;
}

/** Every string anywhere in a parsed file (expressions included). */
export function strings(value: Json): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(strings);
  if (value && typeof value === 'object') return Object.values(value).flatMap(strings);
  return [];
}

export function resource(m: Module, type: string, name: string): Obj {
  const r = m.resources[type]?.[name];
  if (!r) throw new Error(`${relative(repoRoot, m.dir)}: no resource ${type}.${name}`);
  return r;
}

// ---------------------------------------------------------------------------------------------
// IAM grants

/** One role granted to one identity on one thing. */
export interface Grant {
  /** The resource that grants it: `TYPE.NAME`, with `["KEY"]` where its instances grant different roles. */
  address: string;
  /**
   * Who: `function:NAME` (a function's own service account), `account:NAME` (the service account of
   * `google_service_account.NAME`), `pubsub-agent` (the project's Pub/Sub service agent) or
   * `var:NAME` (the members a variable lists).
   */
  identity: string;
  role: string;
  /** Granted on the whole project (google_project_iam_member) or on one resource. */
  level: 'project' | 'resource';
  /**
   * What it is granted on: the kind of thing (topic, project, secret, …) and its name in Markdown
   * (`<prefix>-events`); `each` when the grant is made on every element of a list variable, which
   * `name` then names (`cluster_projects` (default: `project_id`)).
   */
  on: { kind: string; name: string; each?: true };
  /** The IAM condition narrowing it, expressions shown with `<variable>` placeholders. */
  condition?: { title: string; expression: string };
}

/** A value of a for_each that is only known at plan time: every element of `ref`. */
class Each {
  readonly ref: string;
  constructor(ref: string) {
    this.ref = ref;
  }
}
type Value = Json | Each;

interface Instance {
  key: string;
  value: Value;
}

/** Names as the documentation shows them: `<prefix>` for the prefix (other variables: see display()). */
const placeholders = { prefix: '<prefix>' };

/** What each kind of IAM member resource grants a role on, and the argument that names it. */
const grantTargets: Record<string, { kind: string; field: string }> = {
  google_project_iam_member: { kind: 'project', field: 'project' },
  google_pubsub_topic_iam_member: { kind: 'topic', field: 'topic' },
  google_pubsub_subscription_iam_member: { kind: 'subscription', field: 'subscription' },
  google_secret_manager_secret_iam_member: { kind: 'secret', field: 'secret_id' },
  google_service_account_iam_member: { kind: 'service account', field: 'service_account_id' },
  google_cloud_run_service_iam_member: { kind: 'Cloud Run service', field: 'service' },
  google_artifact_registry_repository_iam_member: { kind: 'repository', field: 'repository' },
};

/** The argument that holds the name of a resource another one refers to by `.name`. */
const nameFields: Record<string, string> = {
  google_service_account: 'account_id',
  google_artifact_registry_repository: 'repository_id',
};

/**
 * A string for display: `${var.NAME}` as `<NAME>` (`<prefix>`), `${local.NAME}` as the local's text
 * where it is one, else `<NAME>`. What remains unresolved is an error: the model must learn it.
 */
export function display(m: Module, text: string): string {
  const shown = text
    .replace(/\$\{var\.(\w+)\}/g, (_, name: string) => `<${name}>`)
    .replace(/\$\{local\.(\w+)\}/g, (_, name: string) => {
      const value = m.locals[name];
      if (typeof value !== 'string') throw new Error(`local ${name} is not text`);
      return /^\$\{.*\}$/s.test(value) && !/^\$\{(var|local)\.\w+\}$/.test(value)
        ? `<${name}>`
        : display(m, value);
    });
  if (shown.includes('${')) throw new Error(`cannot show ${text}`);
  return shown;
}

function functionsOf(m: Module): Record<string, Obj> {
  return evaluate(m, m.locals.functions, placeholders) as Record<string, Obj>;
}

/** `a`, `a.b` in a for expression's scope. */
function lookup(scope: Record<string, Value>, expr: string): Value {
  const [head, ...path] = expr.trim().split('.');
  let v: Value | undefined = scope[head!];
  for (const p of path) {
    if (v instanceof Each) return new Each(`${v.ref}.${p}`);
    v = v && typeof v === 'object' && !Array.isArray(v) ? v[p] : undefined;
  }
  if (v === undefined) throw new Error(`cannot evaluate ${expr}`);
  return v;
}

/** A string of a for expression: a reference, or a quoted template of references. */
function text(scope: Record<string, Value>, expr: string): string {
  const quoted = /^"(.*)"$/.exec(expr.trim());
  const s = quoted
    ? quoted[1]!.replace(/\$\{([\w.]+)\}/g, (_, ref: string) => String(lookup(scope, ref)))
    : lookup(scope, expr);
  if (typeof s !== 'string') throw new Error(`${expr} is not a string`);
  return s;
}

/**
 * The instances of a for_each: the functions (`local.functions`), one per element of a set variable
 * (`toset(var.NAME)`), the entries of a map local, or the grants one of the per-function locals
 * builds (`merge([for name, fn in local.functions : {for x in … : KEY => {…}} if fn.FLAG]...)`).
 */
function instances(m: Module, forEach: Json | undefined): Instance[] {
  if (forEach === undefined) return [{ key: '', value: null }];
  if (typeof forEach !== 'string') throw new Error(`for_each ${JSON.stringify(forEach)}`);
  const set = /^\$\{toset\(var\.(\w+)\)\}$/.exec(forEach);
  if (set) return [{ key: '', value: new Each(`var.${set[1]}`) }];
  const filtered = /^\$\{\{ for k, v in local\.(\w+) : k => v if [^}]+\}\}$/.exec(forEach);
  const name = filtered?.[1] ?? /^\$\{local\.(\w+)\}$/.exec(forEach)?.[1];
  if (!name) throw new Error(`for_each ${forEach}`);
  if (name === 'functions') {
    return Object.entries(functionsOf(m)).map(([key, value]) => ({ key, value }));
  }
  const local = m.locals[name];
  if (local && typeof local === 'object' && !Array.isArray(local)) {
    return Object.entries(evaluate(m, local, placeholders) as Obj).map(([key, value]) => ({ key, value }));
  }
  const comprehension =
    /^\$\{merge\(\[\s*for (\w+), (\w+) in local\.functions : \{\s*for (\w+) in ([\w.]+) : (\S+) => \{ (.+?) \}\s*\}(?:\s*if \2\.(\w+))?\s*\]\.\.\.\)\}$/s.exec(
      String(local),
    );
  if (!comprehension) throw new Error(`local.${name}: not a for expression the model reads`);
  const [, nameVar, fnVar, itemVar, iterable, keyExpr, body, flag] = comprehension as unknown as string[];
  const fields = body!.split(',').map((f) => f.split('=').map((s) => s.trim()) as [string, string]);
  const found: Instance[] = [];
  for (const [fnName, fn] of Object.entries(functionsOf(m))) {
    if (flag && fn[flag] !== true) continue;
    const outer: Record<string, Value> = { [nameVar!]: fnName, [fnVar!]: fn };
    const items = iterable!.startsWith(`${fnVar}.`) ? lookup(outer, iterable!) : new Each(iterable!);
    if (!(items instanceof Each) && !Array.isArray(items)) throw new Error(`${iterable} is not a list`);
    for (const item of items instanceof Each ? [items] : items) {
      const scope = { ...outer, [itemVar!]: item };
      const key = item instanceof Each ? `${fnName}/${item.ref}` : text(scope, keyExpr!);
      found.push({ key, value: Object.fromEntries(fields.map(([f, e]) => [f, lookup(scope, e)])) as never });
    }
  }
  return found;
}

/** `each.key`, `each.value`, `each.value.FIELD` of an instance, or a local. */
function eachRef(m: Module, inst: Instance, ref: string): Value {
  if (ref === 'each.key') return inst.key;
  if (ref === 'each.value') return inst.value;
  const field = /^each\.value\.(\w+)$/.exec(ref)?.[1];
  if (field && inst.value && typeof inst.value === 'object' && !(inst.value instanceof Each)) {
    const v = (inst.value as Obj)[field];
    if (v !== undefined) return v;
  }
  const local = /^local\.(\w+)$/.exec(ref)?.[1];
  if (local && local in m.locals) return evaluate(m, m.locals[local], placeholders);
  throw new Error(`cannot resolve ${ref}`);
}

/** An `Each` of a list local or variable, as the documentation says it. */
function showEach(m: Module, e: Each): string {
  // A field of each element of a list-of-objects variable: `var.A.FIELD` as `A[].FIELD`.
  const field = /^var\.(\w+)\.(\w+)$/.exec(e.ref);
  if (field) return `\`${field[1]}[].${field[2]}\``;
  const name = /^(?:var|local)\.(\w+)$/.exec(e.ref)?.[1];
  if (!name) throw new Error(`cannot show ${e.ref}`);
  if (e.ref.startsWith('local.')) {
    // length(var.A) > 0 ? var.A : [var.B]: the variable, with its fallback.
    const fallback = /^\$\{length\(var\.(\w+)\) > 0 \? var\.\1 : \[var\.(\w+)\]\}$/.exec(
      String(m.locals[name]),
    );
    if (!fallback) throw new Error(`cannot show local.${name}`);
    return `\`${fallback[1]}\` (default: \`${fallback[2]}\`)`;
  }
  return `\`${name}\``;
}

/** What an argument of an IAM member resource names, for display (see Grant.on). */
function targetName(m: Module, inst: Instance, expr: Json | undefined): { name: string; each?: true } {
  if (typeof expr !== 'string') throw new Error(`target ${JSON.stringify(expr)}`);
  const ref = /^\$\{(\w+)\.(\w+)(?:\[([^\]]+)\])?\.name\}$/.exec(expr);
  if (ref) {
    const [, type, name, index] = ref as unknown as [string, string, string, string | undefined];
    const target = resource(m, type, name);
    let at: Instance = { key: '', value: null };
    if (index !== undefined) {
      const key = eachRef(m, inst, index);
      if (typeof key !== 'string') throw new Error(`${expr}: index is not a string`);
      const fromSet = typeof target.for_each === 'string' && target.for_each.startsWith('${toset(');
      const found = fromSet ? { key, value: key } : instances(m, target.for_each).find((i) => i.key === key);
      if (!found) throw new Error(`${expr}: no instance ${key} of ${type}.${name}`);
      at = found;
    }
    const nameExpr = target[nameFields[type] ?? 'name'];
    if (typeof nameExpr !== 'string') throw new Error(`${type}.${name} has no name`);
    const shown = nameExpr.replace(/\$\{(each\.[\w.]+)\}/g, (_, r: string) => {
      const v = eachRef(m, at, r);
      if (typeof v !== 'string') throw new Error(`${r} of ${type}.${name}`);
      return v;
    });
    return { name: `\`${display(m, shown)}\`` };
  }
  const each = /^\$\{(each\.[\w.]+)\}$/.exec(expr)?.[1];
  if (each) {
    const v = eachRef(m, inst, each);
    if (v instanceof Each) return { name: showEach(m, v), each: true };
    if (typeof v === 'string') return { name: `\`${display(m, v)}\`` };
    throw new Error(`target ${expr}`);
  }
  return { name: `\`${display(m, expr)}\`` };
}

/** Who an IAM member argument names (see Grant.identity). */
function identityOf(m: Module, inst: Instance, member: Json | undefined): string {
  if (typeof member !== 'string') throw new Error(`member ${JSON.stringify(member)}`);
  const fn = /^\$\{local\.function_members\[([^\]]+)\]\}$/.exec(member)?.[1];
  if (fn) return `function:${String(eachRef(m, inst, fn))}`;
  const account = /^serviceAccount:\$\{google_service_account\.(\w+)\.email\}$/.exec(member)?.[1];
  if (account) return `account:${account}`;
  const local = /^(?:serviceAccount:)?\$\{local\.(\w+)\}$/.exec(member)?.[1];
  if (local === 'pubsub_agent') return 'pubsub-agent';
  if (local) {
    // A local naming one of the module's service accounts (as build_email does, unless overridden).
    const sa = /google_service_account\.(\w+)\[\*\]\.email/.exec(String(m.locals[local]))?.[1];
    if (sa) return `account:${sa}`;
  }
  if (member === '${each.value}' && inst.value instanceof Each && inst.value.ref.startsWith('var.')) {
    return `var:${inst.value.ref.slice('var.'.length)}`;
  }
  throw new Error(`member ${member}: not an identity the model knows`);
}

/** The IAM member resources of a module, by address (`TYPE.NAME`). */
export function iamResources(m: Module): Map<string, Obj> {
  const found = new Map<string, Obj>();
  for (const [type, byName] of Object.entries(m.resources)) {
    if (!type.endsWith('_iam_member')) continue;
    for (const [name, r] of Object.entries(byName)) found.set(`${type}.${name}`, r);
  }
  return found;
}

/** Every role the module grants, one Grant per identity, role and thing it is granted on. */
export function grants(m: Module): Grant[] {
  const out: Grant[] = [];
  for (const [address, r] of iamResources(m)) {
    const type = address.split('.')[0]!;
    const target = grantTargets[type];
    if (!target) throw new Error(`${address}: an IAM resource type the model does not know`);
    const perInstanceRole = r.role === '${each.value.role}';
    for (const inst of instances(m, r.for_each)) {
      const value =
        inst.value && typeof inst.value === 'object' && !(inst.value instanceof Each) ? inst.value : {};
      const role = perInstanceRole ? (value as Obj).role : r.role;
      if (typeof role !== 'string' || !role.startsWith('roles/')) throw new Error(`${address}: role ${role}`);
      let condition: Obj | null = null;
      if (r.condition !== undefined) condition = one(r.condition, `${address} condition`);
      const dynamic = (r.dynamic as Obj | undefined)?.condition;
      if (dynamic !== undefined) {
        // A condition block per instance: the instance's own `condition` (or none when null).
        if (
          one(dynamic, `${address} dynamic condition`).for_each !==
          '${each.value.condition == null ? [] : [each.value.condition]}'
        )
          throw new Error(`${address}: a dynamic condition the model does not read`);
        condition = ((value as Obj).condition ?? null) as Obj | null;
      }
      const grant: Grant = {
        address: perInstanceRole ? `${address}["${inst.key}"]` : address,
        identity: identityOf(m, inst, r.member),
        role,
        level: type === 'google_project_iam_member' ? 'project' : 'resource',
        on: { kind: target.kind, ...targetName(m, inst, r[target.field]) },
      };
      if (condition) {
        grant.condition = {
          title: String(condition.title),
          expression: display(m, String(condition.expression)),
        };
      }
      out.push(grant);
    }
  }
  return out;
}

/** How the documentation names an identity of Grant.identity. */
export function identityLabel(m: Module, identity: string): string {
  const [kind, name] = identity.split(':') as [string, string | undefined];
  switch (kind) {
    case 'function':
      return `\`${name}\``;
    case 'account':
      return `\`${display(m, String(resource(m, 'google_service_account', name!).account_id))}\``;
    case 'pubsub-agent':
      return 'Pub/Sub service agent';
    case 'var':
      return `\`${name}\` (variable)`;
    default:
      throw new Error(`identity ${identity}`);
  }
}

/** The three Terraform modules under infra/terraform, parsed. */
export async function loadModules(): Promise<{ sy: Module; rbac: Module; production: Module }> {
  const [sy, rbac, production] = await Promise.all([
    loadModule(moduleDirs.switchyard),
    loadModule(moduleDirs.rbac),
    loadModule(moduleDirs.production),
  ]);
  return { sy, rbac, production };
}
