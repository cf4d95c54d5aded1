#include "plan.h"

#include "labshare/banned.h"

void plan_build(const struct gw_device *d, struct plan *p)
{
    int order[GW_FIELD_COUNT], n = 0;

    p->request_count = 0;
    for (int f = 0; f < GW_FIELD_COUNT; f++) {
        p->field_request[f] = -1;
        if (d->field_present[f])
            order[n++] = f;
    }
    /* Insertion sort by (table, address): six fields at most. */
    for (int i = 1; i < n; i++) {
        int f = order[i], j = i - 1;
        const struct ls_field_spec *a = &d->fields[f];
        while (j >= 0) {
            const struct ls_field_spec *b = &d->fields[order[j]];
            if (b->table < a->table || (b->table == a->table && b->address <= a->address))
                break;
            order[j + 1] = order[j];
            j--;
        }
        order[j + 1] = f;
    }
    for (int i = 0; i < n; i++) {
        const struct ls_field_spec *s = &d->fields[order[i]];
        unsigned words = ls_reg_type_words(s->type);
        unsigned limit =
            (s->table == LS_TABLE_CO || s->table == LS_TABLE_DI) ? PLAN_MAX_BITS : PLAN_MAX_REGS;
        struct plan_request *r =
            p->request_count ? &p->requests[p->request_count - 1] : (struct plan_request *)0;

        if (r && r->table == s->table && s->address <= r->start + r->count + PLAN_MAX_GAP &&
            s->address + words - r->start <= limit) {
            unsigned end = s->address + words;
            if (end > (unsigned)r->start + r->count)
                r->count = (uint16_t)(end - r->start);
        } else {
            r = &p->requests[p->request_count++];
            r->table = s->table;
            r->start = s->address;
            r->count = (uint16_t)words;
        }
        p->field_request[order[i]] = (int)p->request_count - 1;
    }
}

void plan_print(const struct plan *p, const struct gw_device *d, FILE *f)
{
    for (unsigned i = 0; i < p->request_count; i++) {
        const struct plan_request *r = &p->requests[i];
        fprintf(f, "  request %u: %s %u..%u (%u %s)\n", i + 1, ls_reg_table_name(r->table),
                r->start, r->start + r->count - 1, r->count,
                r->table >= LS_TABLE_CO ? "bits" : "registers");
        for (int k = 0; k < GW_FIELD_COUNT; k++) {
            const struct ls_field_spec *s = &d->fields[k];
            if (p->field_request[k] != (int)i)
                continue;
            fprintf(f, "    %-12s %s:%u %s", gw_field_name((enum gw_field)k),
                    ls_reg_table_name(s->table), s->address, ls_reg_type_name(s->type));
            if (s->scale != 1.0)
                fprintf(f, " * %g", s->scale);
            fprintf(f, "\n");
        }
    }
}

void gw_config_print_plan(const struct gw_config *cfg, FILE *f)
{
    fprintf(f, "gateway %s: outbox %s, uplink %s:%d, heartbeat %d s, batches of %d\n", cfg->id,
            cfg->outbox, cfg->host, cfg->port, cfg->heartbeat_s, cfg->batch_max);
    for (size_t i = 0; i < cfg->device_count; i++) {
        const struct gw_device *d = &cfg->devices[i];
        struct plan p;

        if (d->kind == GW_DEV_MQTT) {
            fprintf(f, "[mqtt:%s] broker %s:%d topic %s\n", d->id, d->host, d->port, d->topic);
            continue;
        }
        if (d->kind == GW_DEV_MODBUS_TCP)
            fprintf(f, "[modbus:%s] tcp %s:%d", d->id, d->host, d->port);
        else
            fprintf(f, "[modbus:%s] rtu %s %d %s", d->id, d->rtu, d->baud, d->parity);
        fprintf(f, " unit %d, poll %d ms, timeout %d ms, word order %s\n", d->unit, d->poll_ms,
                d->timeout_ms, ls_word_order_name(d->word_order));
        plan_build(d, &p);
        plan_print(&p, d, f);
        if (!d->field_present[GW_F_STATE])
            fprintf(f, "  state from power: start %g W, stop %g W, min on %d s, min off %d s\n",
                    d->start_w, d->stop_w, d->min_on_s, d->min_off_s);
        if (d->relay_none)
            fprintf(f, "  interlock relay: none\n");
        else
            fprintf(f, "  interlock relay: %s %d\n",
                    d->relay_table == LS_TABLE_CO ? "coil" : "holding register", d->relay_addr);
    }
}
