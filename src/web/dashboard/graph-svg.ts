import dagre from "@dagrejs/dagre";
import type { GraphNode, RepoGraph } from "../../db/dashboard.ts";
import { h, raw, taskHref, type Html } from "./html.ts";

const NODE_WIDTH = 230;
const NODE_HEIGHT = 54;
const TITLE_CHARS = 26;

type Placed = { x: number; y: number; width: number; height: number };

/**
 * A repository's task graph as SVG: tasks and the issues they wait for as boxes coloured by state,
 * "blocked by" edges as arrows from blocker to dependent, stories as boxes around their sub-issues
 * (collapsible on the page), laid out by dagre on the server so the page needs no layout code.
 */
export function graphSvg(graph: RepoGraph): Html {
  if (graph.nodes.length === 0) return h`<p class="empty">No tasks in this repository yet.</p>`;
  const g = new dagre.graphlib.Graph({ compound: true, multigraph: false });
  g.setGraph({ rankdir: "TB", nodesep: 24, ranksep: 48, marginx: 16, marginy: 16 });
  g.setDefaultEdgeLabel(() => ({}));
  const byKey = new Map(graph.nodes.map((node) => [node.key, node]));
  // A story is a cluster when it has sub-issues here; its own box then sits inside it, first.
  const stories = new Set(graph.nodes.filter((n) => n.story && byKey.has(n.story)).map((n) => n.story!));
  for (const story of stories) g.setNode(clusterId(story), { label: story });
  for (const node of graph.nodes) {
    g.setNode(node.key, { width: NODE_WIDTH, height: NODE_HEIGHT });
    if (node.story && stories.has(node.story)) g.setParent(node.key, clusterId(node.story));
    if (stories.has(node.key)) g.setParent(node.key, clusterId(node.key));
  }
  for (const edge of graph.edges) g.setEdge(edge.blocker, edge.dependent);
  dagre.layout(g);

  const label = g.graph() as { width?: number; height?: number };
  const width = Math.ceil(label.width ?? 0);
  const height = Math.ceil(label.height ?? 0);
  const clusters = [...stories].map((story) => {
    const box = g.node(clusterId(story)) as Placed;
    const node = byKey.get(story)!;
    return h`<g class="story" data-story="${story}"><rect class="story-box" x="${box.x - box.width / 2}" y="${
      box.y - box.height / 2 - 14
    }" width="${box.width}" height="${box.height + 14}" rx="10"/><text class="story-toggle" x="${box.x - box.width / 2 + 10}" y="${
      box.y - box.height / 2 + 2
    }" role="button" tabindex="0" data-toggle="${story}">▾ Story #${node.number}</text></g>`;
  });
  const edges = g.edges().map((e: { v: string; w: string }) => {
    const points = (g.edge(e) as { points: { x: number; y: number }[] }).points;
    const d = points.map((p, i) => `${i === 0 ? "M" : "L"}${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(" ");
    return h`<path class="edge" data-from="${e.v}" data-to="${e.w}" d="${d}" marker-end="url(#arrow)"/>`;
  });
  const nodes = graph.nodes.map((node) => nodeSvg(node, g.node(node.key) as Placed));
  return h`<div class="graph-scroll"><svg class="graph" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="Task graph">
<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" class="arrowhead"/></marker></defs>
${clusters}${edges}${nodes}</svg></div>`;
}

function clusterId(story: string): string {
  return `story:${story}`;
}

function nodeSvg(node: GraphNode, at: Placed): Html {
  const state = node.state ?? (node.issueState === "closed" ? "closed" : "issue");
  const x = at.x - at.width / 2;
  const y = at.y - at.height / 2;
  const title = node.title.length > TITLE_CHARS ? `${node.title.slice(0, TITLE_CHARS - 1)}…` : node.title;
  const body = h`<g class="node state-${state}" data-key="${node.key}"${
    node.story ? h` data-story="${node.story}"` : ""
  }><title>${node.key}: ${node.title} (${state})</title><rect x="${x}" y="${y}" width="${at.width}" height="${at.height}" rx="8"/><text class="node-title" x="${x + 10}" y="${y + 21}">#${node.number} ${title}</text><text class="node-state" x="${x + 10}" y="${y + 41}">${state}</text></g>`;
  return node.state ? h`<a href="${taskHref(node.repo, node.number)}">${body}</a>` : raw(body.html);
}
