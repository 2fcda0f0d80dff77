//! The elementary cycles of a directed graph of files.

use std::collections::{BTreeMap, BTreeSet};

/// Edges from a file to the files it references.
pub(crate) type Graph = BTreeMap<String, BTreeSet<String>>;

/// At most this many cycles are listed per strongly connected component (a dense knot has
/// exponentially many); the component itself is always reported whole.
pub(crate) const MAX_CYCLES_PER_KNOT: usize = 50;

/// Every elementary cycle of `graph`, each starting at its smallest node and listed once,
/// shortest first (at most [`MAX_CYCLES_PER_KNOT`] per knot, see [`knots`]). A file referring
/// to itself is not a cycle.
pub(crate) fn cycles(graph: &Graph) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    for knot in knots(graph) {
        let mut in_knot = Vec::new();
        // Johnson-style: cycles through `start` using only nodes after it, so each cycle is
        // found once, from its smallest node.
        for (i, start) in knot.iter().enumerate() {
            let allowed: BTreeSet<&str> = knot[i..].iter().map(String::as_str).collect();
            let mut path: Vec<&str> = vec![start.as_str()];
            walk(graph, &allowed, start, &mut path, &mut in_knot);
            if in_knot.len() >= MAX_CYCLES_PER_KNOT {
                break;
            }
        }
        in_knot.truncate(MAX_CYCLES_PER_KNOT);
        in_knot.sort_by(|a: &Vec<String>, b| a.len().cmp(&b.len()).then(a.cmp(b)));
        found.extend(in_knot);
    }
    found
}

fn walk<'g>(
    graph: &'g Graph,
    allowed: &BTreeSet<&str>,
    start: &str,
    path: &mut Vec<&'g str>,
    found: &mut Vec<Vec<String>>,
) {
    let Some(current) = path.last().copied() else {
        return;
    };
    for next in graph.get(current).into_iter().flatten() {
        if found.len() >= MAX_CYCLES_PER_KNOT {
            return;
        }
        if next == start && path.len() > 1 {
            found.push(path.iter().map(|s| (*s).to_owned()).collect());
        } else if next != current
            && allowed.contains(next.as_str())
            && !path.contains(&next.as_str())
        {
            path.push(next);
            walk(graph, allowed, start, path, found);
            path.pop();
        }
    }
}

/// The strongly connected components of more than one file (Tarjan), each sorted, in order.
pub(crate) fn knots(graph: &Graph) -> Vec<Vec<String>> {
    struct Tarjan<'a> {
        graph: &'a Graph,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        components: Vec<Vec<String>>,
    }
    impl<'a> Tarjan<'a> {
        fn visit(&mut self, node: &'a str) {
            let n = self.index.len();
            self.index.insert(node, n);
            self.low.insert(node, n);
            self.stack.push(node);
            self.on_stack.insert(node);
            for next in self.graph.get(node).into_iter().flatten() {
                let next = next.as_str();
                if !self.index.contains_key(next) {
                    self.visit(next);
                    let low = self.low[node].min(self.low[next]);
                    self.low.insert(node, low);
                } else if self.on_stack.contains(next) {
                    let low = self.low[node].min(self.index[next]);
                    self.low.insert(node, low);
                }
            }
            if self.low[node] == self.index[node] {
                let mut component = Vec::new();
                while let Some(top) = self.stack.pop() {
                    self.on_stack.remove(top);
                    component.push(top.to_owned());
                    if top == node {
                        break;
                    }
                }
                if component.len() > 1 {
                    component.sort();
                    self.components.push(component);
                }
            }
        }
    }
    let mut tarjan = Tarjan {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        components: Vec::new(),
    };
    for node in graph.keys() {
        if !tarjan.index.contains_key(node.as_str()) {
            tarjan.visit(node);
        }
    }
    tarjan.components.sort();
    tarjan.components
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(edges: &[(&str, &str)]) -> Graph {
        let mut g = Graph::new();
        for (a, b) in edges {
            g.entry((*a).to_owned())
                .or_default()
                .insert((*b).to_owned());
        }
        g
    }

    fn names(cycles: &[Vec<String>]) -> Vec<String> {
        cycles.iter().map(|c| c.join(" -> ")).collect()
    }

    #[test]
    fn a_cycle_is_found_once_from_its_smallest_file() {
        let g = graph(&[("c", "a"), ("a", "b"), ("b", "c"), ("c", "d")]);
        assert_eq!(names(&cycles(&g)), ["a -> b -> c"]);
        assert_eq!(knots(&g), [["a", "b", "c"]]);
    }

    #[test]
    fn no_cycle_in_a_tree_or_a_diamond() {
        let g = graph(&[("a", "b"), ("a", "c"), ("b", "d"), ("c", "d")]);
        assert!(cycles(&g).is_empty());
        assert!(knots(&g).is_empty());
    }

    #[test]
    fn a_file_referring_to_itself_is_no_cycle() {
        let g = graph(&[("a", "a"), ("a", "b")]);
        assert!(cycles(&g).is_empty());
        assert!(knots(&g).is_empty());
    }

    #[test]
    fn every_cycle_of_a_knot_is_listed_shortest_first() {
        let g = graph(&[
            ("a", "b"),
            ("b", "a"),
            ("b", "c"),
            ("c", "a"),
            ("x", "y"),
            ("y", "x"),
        ]);
        assert_eq!(names(&cycles(&g)), ["a -> b", "a -> b -> c", "x -> y"]);
        assert_eq!(knots(&g), [vec!["a", "b", "c"], vec!["x", "y"]]);
    }
}
