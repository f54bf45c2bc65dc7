import { blockFieldSuggestionsPlugin } from '@escape.tech/graphql-armor-block-field-suggestions';
import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesRule } from '@escape.tech/graphql-armor-max-directives';
import { Lexer, NoSchemaIntrospectionCustomRule, Source, TokenKind, type ValidationContext, type ValidationRule } from 'graphql';
import type { GraphQLParams, Plugin } from 'graphql-yoga';
import { LRUCache } from 'lru-cache';
import { tierOf, type LimitTier, type Limits } from '../config/limits.js';
import { isEditor } from '../modules/auth/principal.js';
import { requestPrincipal } from '../modules/auth/request-principal.js';
import { QueryTooComplexError, type QueryLimit } from '../shared/errors.js';

const rejectAs = (limit: QueryLimit) => (context: ValidationContext | null, error: Error) =>
  context?.reportError(new QueryTooComplexError(error.message.replace(/^Syntax Error: /, ''), limit));

/**
 * Yoga caches validation by the rules' names, so each rule is named after its tier: a document
 * accepted for an editor is never taken as accepted for an anonymous caller.
 */
function named(name: string, rule: ValidationRule): ValidationRule {
  return Object.defineProperty((context: ValidationContext) => rule(context), 'name', { value: name });
}

function tierRules(tier: LimitTier, limits: Limits): ValidationRule[] {
  const common = { exposeLimits: true, propagateOnRejection: false };
  return [
    named(`armorDepth_${tier}`, maxDepthRule({ ...common, onReject: [rejectAs('depth')], n: limits.depth, ignoreIntrospection: true, flattenFragments: true })),
    named(`armorAliases_${tier}`, maxAliasesRule({ ...common, onReject: [rejectAs('aliases')], n: limits.aliases })),
    named(`armorDirectives_${tier}`, maxDirectivesRule({ ...common, onReject: [rejectAs('directives')], n: limits.directives })),
  ];
}

/** Counts lexical tokens, stopping as soon as the limit is passed (a huge document costs only up to it). */
function countExceedsTokens(query: string, max: number): boolean {
  const lexer = new Lexer(new Source(query));
  let count = 0;
  try {
    while (lexer.advance().kind !== TokenKind.EOF) if (++count > max) return true;
  } catch {
    return false; // a syntax error: the parser reports it with position
  }
  return false;
}

/**
 * The lexer pass is the costliest check before parsing, and documents repeat (persisted ones on every
 * request): the verdict is kept per token limit and document, up to about a megabyte of documents.
 */
const tokenVerdicts = new LRUCache<string, boolean, { query: string; max: number }>({
  maxSize: 1 << 20,
  sizeCalculation: (_, key) => Math.max(1, key.length),
  memoMethod: (_key, _stale, { context }) => countExceedsTokens(context.query, context.max),
});

function exceedsTokens(query: string, max: number): boolean {
  return tokenVerdicts.memo(`${max}:${query}`, { context: { query, max } });
}

/**
 * The limits checked before parsing, those of the request principal's tier: the document's characters
 * and tokens; QUERY_TOO_COMPLEX past either.
 */
export function assertDocumentWithinLimits(request: Request, params: GraphQLParams, limitsByTier: Record<LimitTier, Limits>): void {
  const limits = limitsByTier[tierOf(requestPrincipal(request))];
  const query = params.query;
  if (typeof query !== 'string') return;
  if (query.length > limits.characters) {
    throw new QueryTooComplexError(`Document of ${query.length} characters exceeds the limit of ${limits.characters}.`, 'characters');
  }
  if (exceedsTokens(query, limits.tokens)) {
    throw new QueryTooComplexError(`Document exceeds the limit of ${limits.tokens} tokens.`, 'tokens');
  }
}

/**
 * Shape limits per role, reported before execution as QUERY_TOO_COMPLEX: characters and tokens
 * before parsing, depth/aliases/directives (graphql-armor) during validation. Cost is the Pothos
 * complexity plugin's (it needs variable values). Unless relaxed (env.relaxed), field suggestions are
 * hidden and introspection is for EDITOR/ADMIN keys only.
 */
export function useArmor(options: { limits: Record<LimitTier, Limits>; relaxed: boolean }): Plugin {
  const rulesByTier = Object.fromEntries(
    (Object.keys(options.limits) as LimitTier[]).map((tier) => [tier, tierRules(tier, options.limits[tier])]),
  ) as Record<LimitTier, ValidationRule[]>;
  return {
    onPluginInit({ addPlugin }) {
      if (!options.relaxed) addPlugin(blockFieldSuggestionsPlugin({ mask: '' }));
    },
    onParams({ params, request }) {
      assertDocumentWithinLimits(request, params, options.limits);
    },
    onValidate({ addValidationRule, context }) {
      const principal = requestPrincipal((context as { request: Request }).request);
      for (const rule of rulesByTier[tierOf(principal)]) addValidationRule(rule);
      if (!options.relaxed && !isEditor(principal)) addValidationRule(NoSchemaIntrospectionCustomRule);
    },
  };
}
