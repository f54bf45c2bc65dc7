import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { Kind, parse, type OperationDefinitionNode } from 'graphql';

export interface PersistedOperation {
  /** `sha256:<hex>`, the one spelling every wire format is normalized to. */
  id: string;
  document: string;
  /** Operation name: a bounded label for logs and metrics. */
  name: string;
  type: 'query' | 'mutation' | 'subscription';
  /** The manifest (file name without .json) it came from: the client allowed to run it. */
  client: string;
}

const HASH = /^(sha256:)?([0-9a-f]{64})$/;

/** Normalizes an id from any wire format (`sha256:<hex>` or bare hex) or returns null when malformed. */
export function normalizeOperationId(id: string): string | null {
  const match = HASH.exec(id.trim().toLowerCase());
  return match ? `sha256:${match[2]}` : null;
}

const sha256 = (text: string) => `sha256:${createHash('sha256').update(text).digest('hex')}`;

/**
 * Reads every `<client>.json` in the folder. Accepts graphql-codegen's persisted-documents.json
 * (`{"sha256:<hex>": "<document>"}`) and Apollo's persisted query manifest
 * (`{"format":"apollo-persisted-query-manifest","version":1,"operations":[{id,name,type,body}]}`).
 * Every id must be the SHA-256 of its document, so a mis-keyed manifest fails at start-up.
 */
export function loadPersistedManifests(dir: string): Map<string, PersistedOperation[]> {
  const operations = new Map<string, PersistedOperation[]>();
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.json'));
  } catch {
    return operations; // no folder: no persisted operations
  }
  for (const file of files.sort()) {
    const client = basename(file, '.json');
    const path = join(dir, file);
    const entries = manifestEntries(JSON.parse(readFileSync(path, 'utf8')), path);
    for (const { id, document } of entries) {
      const normalized = normalizeOperationId(id);
      if (!normalized || normalized !== sha256(document)) {
        throw new Error(`${path}: id ${id} is not the sha256 of its document`);
      }
      const operation = parse(document).definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
      if (!operation) throw new Error(`${path}: ${id} holds no operation`);
      const list = operations.get(normalized) ?? [];
      list.push({ id: normalized, document, name: operation.name?.value ?? 'anonymous', type: operation.operation, client });
      operations.set(normalized, list);
    }
  }
  return operations;
}

function manifestEntries(json: unknown, path: string): { id: string; document: string }[] {
  if (json && typeof json === 'object' && (json as { format?: unknown }).format === 'apollo-persisted-query-manifest') {
    const { version, operations } = json as { version?: unknown; operations?: unknown };
    if (version !== 1 || !Array.isArray(operations)) throw new Error(`${path}: unsupported Apollo manifest version`);
    return operations.map((op: { id?: unknown; body?: unknown }) => {
      if (typeof op.id !== 'string' || typeof op.body !== 'string') throw new Error(`${path}: operations need string id and body`);
      return { id: op.id, document: op.body };
    });
  }
  if (json && typeof json === 'object' && !Array.isArray(json)) {
    return Object.entries(json).map(([id, document]) => {
      if (typeof document !== 'string') throw new Error(`${path}: ${id} must map to a document string`);
      return { id, document };
    });
  }
  throw new Error(`${path}: not a persisted-operation manifest`);
}
