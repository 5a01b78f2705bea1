#include "yaml_util.h"

#include <libfyaml.h>

const struct fy_mark *yaml_node_mark(struct fy_node *n, int max_depth)
{
    for (int depth = 0; n && depth <= max_depth; depth++) {
        void *it = NULL;

        switch (fy_node_get_type(n)) {
        case FYNT_SCALAR: {
            struct fy_token *t = fy_node_get_scalar_token(n);
            return t ? fy_token_start_mark(t) : NULL;
        }
        case FYNT_SEQUENCE:
            n = fy_node_sequence_iterate(n, &it);
            break;
        case FYNT_MAPPING: {
            struct fy_node_pair *p = fy_node_mapping_iterate(n, &it);
            n = p ? fy_node_pair_key(p) : NULL;
            break;
        }
        default:
            return NULL;
        }
    }
    return NULL;
}

bool yaml_node_line_column(struct fy_node *n, int max_depth, int *line, int *column)
{
    const struct fy_mark *m = yaml_node_mark(n, max_depth);

    if (!m)
        return false;
    *line = m->line + 1;
    *column = m->column + 1;
    return true;
}
