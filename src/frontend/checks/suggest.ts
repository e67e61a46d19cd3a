import { editDistance } from '../../errors.js';

/**
 * BuildKit's suggest.Search: the closest option less than 3 edits away; none when the word is
 * itself an option (then the problem lies elsewhere).
 */
export function suggestName(word: string, options: Iterable<string>): string {
  let match = '';
  let best = 3;
  for (const option of options) {
    if (option === word) return '';
    const d = editDistance(word, option);
    if (d < best) {
      match = option;
      best = d;
    }
  }
  return match;
}
