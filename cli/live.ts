// Redrawing a block of text in place on a terminal (watch): the cursor goes back up over the last
// frame, clears to the end of the screen and writes the new one. Lines are cut to the terminal's
// width and the frame to its height, so the count of rows to go back up is always exact (a wrapped
// or scrolled-off line could not be cleared).
import { width } from './output.ts';

export interface Screen {
  write(text: string): unknown;
  columns?: number;
  rows?: number;
}

export class LiveRegion {
  readonly #out: Screen;
  #drawn = 0;
  #last: string | undefined;

  constructor(out: Screen) {
    this.#out = out;
  }

  /** Replaces the previous frame with `text` (nothing is written when it is the same). */
  render(text: string): void {
    if (text === this.#last) return;
    this.#last = text;
    const columns = Math.max(20, this.#out.columns || 80);
    const rows = Math.max(5, this.#out.rows || 50);
    let lines = text.split('\n').map((line) => cut(line, columns - 1));
    if (lines.length > rows - 1) lines = [...lines.slice(0, rows - 2), '…'];
    const up = this.#drawn > 0 ? `\x1b[${this.#drawn}A\r\x1b[0J` : '';
    this.#out.write(`${up}${lines.join('\n')}\n`);
    this.#drawn = lines.length;
  }
}

function cut(line: string, columns: number): string {
  return width(line) <= columns ? line : `${[...line].slice(0, columns - 1).join('')}…`;
}
