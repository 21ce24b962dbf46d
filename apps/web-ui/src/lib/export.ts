import type { DeadLetterView } from '@idra/api-client';

export function toJsonLines(letters: readonly DeadLetterView[]): string {
  return letters.map((l) => JSON.stringify({ at: l.at, error: l.error, row: l.row })).join('\n') + '\n';
}

function cell(v: unknown): string {
  const text = v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** One line per row: when, error, then the row's columns (the union over all rows). */
export function toCsv(letters: readonly DeadLetterView[]): string {
  const columns = [...new Set(letters.flatMap((l) => Object.keys(l.row)))];
  const lines = [['at', 'error', ...columns].map(cell).join(','), ...letters.map((l) => [l.at, l.error, ...columns.map((c) => l.row[c])].map(cell).join(','))];
  return lines.join('\r\n') + '\r\n';
}

/** Saves text as a file through the browser. */
export function download(name: string, type: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
