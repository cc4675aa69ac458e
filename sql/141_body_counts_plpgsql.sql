-- SPDX-License-Identifier: MIT
-- 141_body_counts_plpgsql.sql: the counts of a body (section 1, sql/020)
-- in one pass, for the report's host page.
--
-- A host page charts the TCP states of the busiest snapshot of each hour
-- of the window: 2,016 snapshots a week at 5-minute intervals. Read
-- through the snapshots view, each costs pf_body_layout() and a
-- pf_body_count() call per column, SQL functions the planner cannot
-- inline: about 0.7 s a page at 1,000 hosts. This reads only the first
-- section, value by value with get_byte(): the 31 counts as an array in
-- the snapshots view's order (interval_s, tcp_listen ... tcp_ephemeral_in_use
-- at 13 ...), NULL where the body has none (width 255).
CREATE FUNCTION pf_body_counts(b bytea) RETURNS bigint[]
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    res bigint[] := array_fill(NULL::bigint, ARRAY[31]);
    o integer := 3; -- after the version, the flags and section 1's n
    w integer;
    x bigint;
BEGIN
    IF get_byte(b, 0) NOT IN (1, 2) THEN
        RAISE EXCEPTION 'snapshot body format % is not known', get_byte(b, 0);
    END IF;
    IF get_byte(b, 2) = 0 THEN
        RETURN res; -- no counts row (pf_body_layout: every column NULL)
    END IF;
    FOR c IN 1..31 LOOP
        w := get_byte(b, o);
        o := o + 1;
        IF w = 255 THEN
            CONTINUE;
        ELSIF w = 8 THEN
            x := ('x' || encode(substring(b FROM o + 1 FOR 8), 'hex'))::bit(64)::bigint;
        ELSE
            x := 0;
            FOR j IN 0..w - 1 LOOP
                x := x * 256 + get_byte(b, o + j);
            END LOOP;
        END IF;
        res[c] := x;
        o := o + w; -- one row
    END LOOP;
    RETURN res;
END
$$;

-- The remotes of a body (sql/130's pf_body_remotes(), same rows) in one
-- pass: the page's top remotes read a day of snapshots through the
-- snapshot_remotes view, about 0.3 s through the SQL version.
CREATE OR REPLACE FUNCTION pf_body_remotes(b bytea)
RETURNS TABLE (rank smallint, endpoint_id integer, count bigint,
               pf bigint, hi bigint, lo bigint)
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    -- pf_body_layout(): section 3 (remotes) at entry 101, section 9
    -- (inline endpoints) at 141; each: n, then (offset, width) per column
    l integer[] := pf_body_layout(b);
    nr integer := l[101];
    v bigint[] := array_fill(NULL::bigint, ARRAY[4]);
    ids bigint[] := array_fill(NULL::bigint, ARRAY[greatest(nr, 1)]);
    cnt bigint[] := array_fill(NULL::bigint, ARRAY[greatest(nr, 1)]);
    -- the inline endpoint of remote i (row "at" = 64 + i), by i + 1
    epf bigint[] := array_fill(NULL::bigint, ARRAY[greatest(nr, 1)]);
    ehi bigint[] := array_fill(NULL::bigint, ARRAY[greatest(nr, 1)]);
    elo bigint[] := array_fill(NULL::bigint, ARRAY[greatest(nr, 1)]);
    base integer;
    ncols integer;
    w integer;
    o integer;
    x bigint;
    total bigint := 0;
BEGIN
    FOR s IN 1..2 LOOP
        base := CASE s WHEN 1 THEN 141 ELSE 101 END;
        ncols := CASE s WHEN 1 THEN 4 ELSE 2 END;
        FOR i IN 0..l[base] - 1 LOOP
            FOR c IN 1..ncols LOOP
                w := l[base + 2 * c];
                IF w = 255 THEN
                    x := NULL;
                ELSIF w = 8 THEN
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
                IF v[1] BETWEEN 64 AND 63 + nr THEN
                    epf[v[1] - 63] := v[2];
                    ehi[v[1] - 63] := v[3];
                    elo[v[1] - 63] := v[4];
                END IF;
            ELSE
                ids[i + 1] := v[1];
                cnt[i + 1] := v[2];
            END IF;
        END LOOP;
    END LOOP;
    -- counts stored as differences (flags bit 3): each is its own plus
    -- those of the rows after it
    IF get_byte(b, 1) & 8 = 8 THEN
        FOR i IN REVERSE nr..1 LOOP
            total := total + cnt[i];
            cnt[i] := total;
        END LOOP;
    END IF;
    FOR i IN 0..nr - 1 LOOP
        rank := i;
        endpoint_id := ids[i + 1];
        count := cnt[i + 1];
        pf := epf[i + 1];
        hi := ehi[i + 1];
        lo := elo[i + 1];
        RETURN NEXT;
    END LOOP;
END
$$;
