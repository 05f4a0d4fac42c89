/**
 * Bounds on the JSON bodies of the protocol's rare messages, checked on the raw
 * text before JSON.parse, on both sides.
 *
 * Why: a message is at most 64 KiB, but 64 KiB of `[[[[...` is 32,768 levels of
 * nesting. JSON.parse copes; what comes after does not: JSON.stringify in a
 * compositor's sendEvent echo, a structured clone, or any recursive walk of the
 * payload in application code runs out of stack. A receiver refuses such a body
 * at decode time with ERR_BUFSHARE_PROTOCOL, and a sender refuses to encode it
 * (ERR_BUFSHARE_INVALID_ARGUMENT), so nothing deeper than MAX_JSON_DEPTH ever
 * reaches application code.
 */

/** Levels of object/array nesting a message body may have, the body itself included. */
export const MAX_JSON_DEPTH = 32;

/**
 * The deepest nesting of objects and arrays in JSON text, counted without
 * parsing (brackets inside strings are skipped); stops counting past `limit`.
 * Linear in the text, no recursion.
 */
export function jsonTextDepth(text: string, limit = Infinity): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      if (++depth > deepest) {
        deepest = depth;
        if (deepest > limit) return deepest;
      }
    } else if (c === 0x5d /* ] */ || c === 0x7d /* } */) {
      depth--;
    }
  }
  return deepest;
}
