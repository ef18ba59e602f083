// A tree of objects in columns, drawn like `kubectl argo rollouts get rollout`:
//
//   NAME                  KIND        STATUS     INFO
//   ⟳ api                 Target      ✔ Succeeded
//   ├──# revision:7d9f3c  …
//   │  └──⧉ api-7d9f3c    Deployment  ✔ Healthy  stable,active
//   └──# revision:4c5d6e  …
import { table } from '../output.ts';

export interface TreeNode {
  /** One-column symbol of the object's kind (⟳ ⧉ α # …). */
  glyph: string;
  name: string;
  kind: string;
  /** Status with its symbol, e.g. "✔ Healthy". */
  status: string;
  info: string;
  children: TreeNode[];
}

/** Status symbols, as Argo Rollouts' plugin draws them. */
export const symbols = {
  ok: '✔',
  progressing: '◌',
  failed: '✖',
  paused: '॥',
  inactive: '•',
  inconclusive: '?',
  error: '⚠',
} as const;

/** The rows of the tree under a NAME KIND STATUS INFO header, columns aligned. */
export function drawTree(root: TreeNode): string {
  const rows: string[][] = [];
  const walk = (node: TreeNode, prefix: string, indent: string) => {
    rows.push([`${prefix}${node.glyph} ${node.name}`, node.kind, node.status, node.info]);
    node.children.forEach((child, i) => {
      const last = i === node.children.length - 1;
      walk(child, `${indent}${last ? '└──' : '├──'}`, `${indent}${last ? '   ' : '│  '}`);
    });
  };
  walk(root, '', '');
  return table(['NAME', 'KIND', 'STATUS', 'INFO'], rows);
}
