/*
 * yaml_util.h — small helpers over libfyaml 0.7.12 nodes shared by the YAML
 * readers in lib/ (incident_yaml, profile). Pure: no I/O, no allocation.
 */
#ifndef CORDON_YAML_UTIL_H
#define CORDON_YAML_UTIL_H

#include <stdbool.h>

struct fy_node;
struct fy_mark;

/*
 * Start mark of node n. libfyaml 0.7.12 has no public
 * fy_node_get_start_mark(): a scalar's position is its token's; a
 * collection's is its first key or item's (where a block collection starts),
 * looked for at most max_depth levels down. NULL for NULL, an empty
 * collection, or nesting deeper than max_depth. The mark belongs to the
 * document.
 */
const struct fy_mark *yaml_node_mark(struct fy_node *n, int max_depth);

/*
 * 1-based line and column of yaml_node_mark(n, max_depth): true, or false
 * (line and column untouched) when n has no mark.
 */
bool yaml_node_line_column(struct fy_node *n, int max_depth, int *line, int *column);

#endif
