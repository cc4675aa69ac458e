-- SPDX-License-Identifier: MIT
-- 140_body_processes_plpgsql.sql: pf_body_processes() (sql/020, with the
-- inline endpoints of sql/130) decoded in one pass.
--
-- The SQL version calls pf_body_cell() for each of the 18 columns of each
-- process, a SQL function with a FROM clause, which the planner cannot
-- inline: 16-20 ms a snapshot. pf_flush_process_hours() (fold.c) reads the
-- processes of every queued snapshot through it, so after a bulk import
-- the queue was folded at about 2,000 snapshots a minute and an analysis's
-- catch-up timed out. This one takes the layout once and reads the
-- big-endian values with get_byte(): about 0.2 ms a snapshot, the same
-- rows (the snapshot_processes view reads it too).
CREATE OR REPLACE FUNCTION pf_body_processes(b bytea)
RETURNS TABLE (rank smallint, pid bigint, name_id integer, service_id integer,
               tcp_ports bigint, udp_ports bigint, st_listen bigint, st_syn_sent bigint,
               st_syn_received bigint, st_established bigint, st_fin_wait_1 bigint,
               st_fin_wait_2 bigint, st_close_wait bigint, st_closing bigint,
               st_last_ack bigint, st_time_wait bigint, st_bound bigint,
               remote_id integer, top_remote_count bigint,
               remote_pf bigint, remote_hi bigint, remote_lo bigint)
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    -- pf_body_layout(): section 2 (processes) at entry 64, section 9
    -- (inline endpoints) at 141; each: n, then (offset, width) per column
    l integer[] := pf_body_layout(b);
    np integer := l[64];
    v bigint[] := array_fill(NULL::bigint, ARRAY[18]);
    -- the inline endpoint of process i (row "at" = 1 + i), by i + 1
    epf bigint[] := array_fill(NULL::bigint, ARRAY[greatest(np, 1)]);
    ehi bigint[] := array_fill(NULL::bigint, ARRAY[greatest(np, 1)]);
    elo bigint[] := array_fill(NULL::bigint, ARRAY[greatest(np, 1)]);
    base integer;
    ncols integer;
    w integer;
    o integer;
    x bigint;
BEGIN
    -- section 9 first, then section 2: the same reading of a value
    FOR s IN 1..2 LOOP
        base := CASE s WHEN 1 THEN 141 ELSE 64 END;
        ncols := CASE s WHEN 1 THEN 4 ELSE 18 END;
        FOR i IN 0..l[base] - 1 LOOP
            FOR c IN 1..ncols LOOP
                w := l[base + 2 * c];
                IF w = 255 THEN
                    x := NULL; -- a column with no value (pf_body_u)
                ELSIF w = 8 THEN
                    -- all 64 bits, as pf_body_u, without overflowing
                    x := ('x' || encode(substring(b FROM l[base + 2 * c - 1] + i * 8 + 1 FOR 8),
                                        'hex'))::bit(64)::bigint;
                ELSE
                    o := l[base + 2 * c - 1] + i * w;
                    x := 0;
                    FOR j IN 0..w - 1 LOOP
                        x := x * 256 + get_byte(b, o + j);
                    END LOOP;
                END IF;
                v[c] := x;
            END LOOP;
            IF s = 1 THEN
                -- columns at, pf, hi, lo; one row per place (compact.c)
                IF v[1] BETWEEN 1 AND np THEN
                    epf[v[1]] := v[2];
                    ehi[v[1]] := v[3];
                    elo[v[1]] := v[4];
                END IF;
                CONTINUE;
            END IF;
            rank := i;
            pid := v[1];
            name_id := v[2];
            service_id := v[3];
            tcp_ports := v[4];
            udp_ports := v[5];
            st_listen := v[6];
            st_syn_sent := v[7];
            st_syn_received := v[8];
            st_established := v[9];
            st_fin_wait_1 := v[10];
            st_fin_wait_2 := v[11];
            st_close_wait := v[12];
            st_closing := v[13];
            st_last_ack := v[14];
            st_time_wait := v[15];
            st_bound := v[16];
            remote_id := v[17];
            top_remote_count := v[18];
            remote_pf := epf[i + 1];
            remote_hi := ehi[i + 1];
            remote_lo := elo[i + 1];
            RETURN NEXT;
        END LOOP;
    END LOOP;
END
$$;
