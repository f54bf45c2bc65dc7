import type { Context } from '../../context.js';
import { isEditor } from './principal.js';

/**
 * Whether figures drawn from `count` people are withheld from the caller: below the minimum group
 * size (SUMMARY_MIN_GROUP_SIZE) a summary would show a few identifiable people's answers. Editors see
 * everything (they may read the responses themselves). Answers are cached per principal scope, so an
 * editor's figures are never served to others.
 */
export function isWithheld(ctx: Pick<Context, 'principal' | 'minGroupSize'>, count: number): boolean {
  return !isEditor(ctx.principal) && count < ctx.minGroupSize;
}
