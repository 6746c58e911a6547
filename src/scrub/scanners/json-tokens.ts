/** A scalar in a JSON document: where it sits in the raw text and under which path. */
export interface JsonScalar {
  kind: 'key' | 'string' | 'number';
  /** Raw offsets; for strings they include the quotes. */
  start: number;
  end: number;
  /** JSON path of the value (for a key: of the object holding it), keys verbatim: context for detectors. */
  path: string;
  /** The same path with each key as `keyName` renders it: what may be stored. */
  where: string;
  /** True when the raw string contains backslash escapes and must be decoded. */
  escaped: boolean;
}

interface Frame {
  array: boolean;
  index: number;
  /** Raw offsets of the current member's key string (quotes included), -1 before the first key. */
  keyStart: number;
  keyEnd: number;
  keyEscaped: boolean;
  expectKey: boolean;
}

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

function pathOf(raw: string, stack: readonly Frame[], depth: number, keyName?: (key: string) => string): string {
  let p = '$';
  for (let d = 0; d < depth; d++) {
    const f = stack[d]!;
    if (f.array) p += `[${f.index}]`;
    else if (f.keyStart !== -1) {
      const key = f.keyEscaped ? (JSON.parse(raw.slice(f.keyStart, f.keyEnd)) as string) : raw.slice(f.keyStart + 1, f.keyEnd - 1);
      const shown = keyName ? keyName(key) : key;
      p += IDENT.test(shown) || shown === '{key}' ? `.${shown}` : `[${JSON.stringify(shown)}]`;
    }
  }
  return p;
}

/**
 * Lists the strings, keys and numbers of a JSON text that `want` selects, with raw offsets and
 * JSON paths, without building the value tree (paths are built only for selected scalars).
 * Iterative (no recursion limit). Returns undefined on malformed input.
 */
export function jsonScalars(raw: string, want: (start: number, end: number) => boolean = () => true, keyName?: (key: string) => string): JsonScalar[] | undefined {
  const out: JsonScalar[] = [];
  const stack: Frame[] = [];
  const at = (depth: number): { path: string; where: string } => {
    const path = pathOf(raw, stack, depth);
    return { path, where: keyName ? pathOf(raw, stack, depth, keyName) : path };
  };
  let nextBackslash = raw.indexOf('\\');
  let i = 0;
  let sawRoot = false;
  const n = raw.length;
  while (i < n) {
    const c = raw.charCodeAt(i);
    if (c === 32 || c === 10 || c === 13 || c === 9 || c === 44 || c === 58) {
      if (c === 44) {
        const top = stack[stack.length - 1];
        if (top === undefined) return undefined;
        if (top.array) top.index++;
        else top.expectKey = true;
      }
      i++;
      continue;
    }
    const top = stack[stack.length - 1];
    if (top === undefined && sawRoot) return undefined;
    if (c === 34) {
      let j = raw.indexOf('"', i + 1);
      while (j !== -1) {
        let k = j - 1;
        while (raw.charCodeAt(k) === 92) k--;
        if ((j - 1 - k) % 2 === 0) break;
        j = raw.indexOf('"', j + 1);
      }
      if (j === -1) return undefined;
      if (nextBackslash !== -1 && nextBackslash < i) nextBackslash = raw.indexOf('\\', i);
      const escaped = nextBackslash !== -1 && nextBackslash < j;
      if (top !== undefined && !top.array && top.expectKey) {
        top.keyStart = i;
        top.keyEnd = j + 1;
        top.keyEscaped = escaped;
        top.expectKey = false;
        if (want(i, j + 1)) out.push({ kind: 'key', start: i, end: j + 1, ...at(stack.length - 1), escaped });
      } else if (want(i, j + 1)) {
        out.push({ kind: 'string', start: i, end: j + 1, ...at(stack.length), escaped });
      }
      sawRoot = true;
      i = j + 1;
    } else if (c === 123 || c === 91) {
      stack.push({ array: c === 91, index: 0, keyStart: -1, keyEnd: -1, keyEscaped: false, expectKey: c === 123 });
      sawRoot = true;
      i++;
    } else if (c === 125 || c === 93) {
      const f = stack.pop();
      if (f === undefined || f.array !== (c === 93)) return undefined;
      i++;
    } else if (c === 45 || (c >= 48 && c <= 57)) {
      let j = i + 1;
      while (j < n) {
        const d = raw.charCodeAt(j);
        if ((d >= 48 && d <= 57) || d === 46 || d === 101 || d === 69 || d === 43 || d === 45) j++;
        else break;
      }
      if (want(i, j)) out.push({ kind: 'number', start: i, end: j, ...at(stack.length), escaped: false });
      sawRoot = true;
      i = j;
    } else if (raw.startsWith('true', i) || raw.startsWith('null', i)) {
      sawRoot = true;
      i += 4;
    } else if (raw.startsWith('false', i)) {
      sawRoot = true;
      i += 5;
    } else return undefined;
  }
  return stack.length === 0 && sawRoot ? out : undefined;
}

/** Decoded JSON string content plus, for each decoded UTF-16 unit, its raw offset (and one past the end). */
export function decodeJsonString(raw: string, start: number, end: number): { text: string; map: Int32Array } {
  const inner = end - 1;
  let text = '';
  const map: number[] = [];
  let i = start + 1;
  while (i < inner) {
    const c = raw.charCodeAt(i);
    if (c !== 92) {
      text += raw[i];
      map.push(i);
      i++;
      continue;
    }
    const e = raw[i + 1];
    if (e === 'u') {
      text += String.fromCharCode(parseInt(raw.slice(i + 2, i + 6), 16));
      map.push(i);
      i += 6;
    } else {
      text += e === 'n' ? '\n' : e === 't' ? '\t' : e === 'r' ? '\r' : e === 'b' ? '\b' : e === 'f' ? '\f' : e;
      map.push(i);
      i += 2;
    }
  }
  map.push(inner);
  return { text, map: Int32Array.from(map) };
}
