/* SPDX-License-Identifier: MIT */
/* sockhold.c: opens known numbers of sockets in known states across several
 * processes, then writes the ground truth (every socket it made, with its
 * owner, state, ports and remote) as JSON and holds them until SIGTERM.
 * The exactness test compares `portfleet-agent snapshot` against this list;
 * the benchmark uses it to put 50,000 sockets on a host.
 *
 *   sockhold --out TRUTH.json --listen-base PORT --listeners K
 *            --client SPEC [--client SPEC ...]
 *   SPEC: comma-separated key=value, all optional:
 *     est=N     N connections to listener (index % K), kept ESTABLISHED
 *     to=I      which listener index the connections go to (default: the
 *               client's number)
 *     tw=N      N more connections closed by this side: TIME_WAIT, no owner
 *     bound=N   N TCP sockets bound to port 0, neither listening nor connected
 *     udp=N     N UDP sockets bound to port 0
 *     fam=4|6   address family of this client's sockets (default 4)
 * One server process per listener port (127.0.0.1 and ::1, ports
 * PORT..PORT+K-1; one per port keeps each under the per-process fd limit)
 * owns the listeners and every socket accepted on them; it closes a socket
 * when the client closed it, so the client's side is left in TIME_WAIT.
 * Only loopback addresses are used. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_CLIENTS 64

struct spec {
    int est, to, tw, bound, udp, fam;
};

/* One socket as reported to the parent through a pipe. */
struct rec {
    int pid;     /* 0: no owner (TIME_WAIT) */
    char proto;  /* 't' or 'u' */
    char fam;    /* 4 or 6 */
    char state[16];
    int lport, rport;
    char raddr[48];
};

static int listen_base, nlisteners;

static void die(const char *what)
{
    fprintf(stderr, "sockhold: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void raise_nofile(void)
{
    struct rlimit rl = {.rlim_cur = 1 << 20, .rlim_max = 1 << 20};
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
        getrlimit(RLIMIT_NOFILE, &rl);
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static socklen_t make_addr(struct sockaddr_storage *ss, int fam, int port)
{
    memset(ss, 0, sizeof(*ss));
    if (fam == 6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
        a->sin6_family = AF_INET6;
        a->sin6_addr = in6addr_loopback;
        a->sin6_port = htons((uint16_t)port);
        return sizeof(*a);
    }
    struct sockaddr_in *a = (struct sockaddr_in *)ss;
    a->sin_family = AF_INET;
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a->sin_port = htons((uint16_t)port);
    return sizeof(*a);
}

static int local_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
        die("getsockname");
    return ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                    : ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

static void peer(int fd, char *addr, size_t len, int *port)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    if (getpeername(fd, (struct sockaddr *)&ss, &sl) != 0)
        die("getpeername");
    if (ss.ss_family == AF_INET6) {
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, addr, (socklen_t)len);
        *port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    } else {
        inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, addr, (socklen_t)len);
        *port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    }
}

static void send_rec(int pipefd, const struct rec *r)
{
    if (write(pipefd, r, sizeof(*r)) != (ssize_t)sizeof(*r))
        die("write pipe");
}

static void fill_tcp(struct rec *r, int fd, int pid, char fam, const char *state, int connected)
{
    memset(r, 0, sizeof(*r));
    r->pid = pid;
    r->proto = 't';
    r->fam = fam;
    snprintf(r->state, sizeof(r->state), "%s", state);
    r->lport = local_port(fd);
    if (connected)
        peer(fd, r->raddr, sizeof(r->raddr), &r->rport);
}

static void hold_forever(void)
{
    for (;;)
        pause();
}

/* The server: listeners plus every accepted socket; closes what the client
 * closed. Reports each listener and accepted socket once all expected
 * connections are in, then "closed" counts as they happen. */
static void run_server(int pipefd, int li, int expect_accepts, int expect_closes)
{
    int ep = epoll_create1(0), accepted = 0, closed = 0, reported = 0;
    int *fds = calloc((size_t)expect_accepts + 1, sizeof(int));
    int nfds = 0;
    struct rec r;
    struct epoll_event ev;

    if (ep < 0 || !fds)
        die("server setup");
    for (int fam = 4; fam <= 6; fam += 2)
        for (int i = li; i == li; i++) {
            struct sockaddr_storage ss;
            socklen_t len = make_addr(&ss, fam, listen_base + i);
            int one = 1, fd = socket(fam == 6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
            if (fd < 0)
                die("socket");
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
            if (fam == 6)
                setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
            if (bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, 4096) != 0)
                die("listen");
            ev.events = EPOLLIN;
            ev.data.u64 = (uint64_t)fd << 1 | 1;
            epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
            fill_tcp(&r, fd, getpid(), (char)fam, "listen", 0);
            send_rec(pipefd, &r);
        }
    r.proto = 'L'; /* listeners are up */
    send_rec(pipefd, &r);
    for (;;) {
        struct epoll_event evs[256];
        int n = epoll_wait(ep, evs, 256, 1000);
        for (int i = 0; i < n; i++) {
            int fd = (int)(evs[i].data.u64 >> 1);
            if (evs[i].data.u64 & 1) {
                int c;
                while ((c = accept4(fd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    ev.events = EPOLLIN | EPOLLRDHUP;
                    ev.data.u64 = (uint64_t)c << 1;
                    epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
                    fds[nfds++] = c;
                    accepted++;
                }
            } else {
                char buf[64];
                if (read(fd, buf, sizeof(buf)) == 0) {
                    epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
                    for (int k = 0; k < nfds; k++)
                        if (fds[k] == fd)
                            fds[k] = -1;
                    close(fd);
                    closed++;
                }
            }
        }
        if (!reported && accepted == expect_accepts && closed == expect_closes) {
            for (int k = 0; k < nfds; k++) {
                if (fds[k] < 0)
                    continue;
                fill_tcp(&r, fds[k], getpid(), 0, "established", 1);
                r.fam = strchr(r.raddr, ':') ? 6 : 4;
                send_rec(pipefd, &r);
            }
            r.proto = 'D';
            send_rec(pipefd, &r);
            reported = 1;
        }
    }
}

static int connect_one(int fam, int port)
{
    struct sockaddr_storage ss;
    socklen_t len = make_addr(&ss, fam, port);
    int fd = socket(fam == 6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        die("socket");
    if (connect(fd, (struct sockaddr *)&ss, len) != 0)
        die("connect");
    return fd;
}

static void run_client(int pipefd, const struct spec *sp, int idx)
{
    struct rec r;
    int fam = sp->fam == 6 ? 6 : 4;
    int port = listen_base + (sp->to >= 0 ? sp->to : idx) % nlisteners;
    int pid = getpid();

    for (int i = 0; i < sp->est; i++) {
        int fd = connect_one(fam, port);
        fill_tcp(&r, fd, pid, (char)fam, "established", 1);
        send_rec(pipefd, &r);
    }
    for (int i = 0; i < sp->bound; i++) {
        struct sockaddr_storage ss;
        socklen_t len = make_addr(&ss, fam, 0);
        int fd = socket(fam == 6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
        if (fd < 0 || bind(fd, (struct sockaddr *)&ss, len) != 0)
            die("bind tcp");
        fill_tcp(&r, fd, pid, (char)fam, "bound", 0);
        send_rec(pipefd, &r);
    }
    for (int i = 0; i < sp->udp; i++) {
        struct sockaddr_storage ss;
        socklen_t len = make_addr(&ss, fam, 0);
        int fd = socket(fam == 6 ? AF_INET6 : AF_INET, SOCK_DGRAM, 0);
        if (fd < 0 || bind(fd, (struct sockaddr *)&ss, len) != 0)
            die("bind udp");
        memset(&r, 0, sizeof(r));
        r.pid = pid;
        r.proto = 'u';
        r.fam = (char)fam;
        r.lport = local_port(fd);
        send_rec(pipefd, &r);
    }
    /* TIME_WAIT last, so no later connect() can reuse these ports. */
    for (int i = 0; i < sp->tw; i++) {
        int fd = connect_one(fam, port);
        fill_tcp(&r, fd, 0, (char)fam, "time_wait", 1);
        close(fd);
        send_rec(pipefd, &r);
    }
    r.proto = 'D';
    send_rec(pipefd, &r);
    hold_forever();
}

static int parse_spec(const char *s, struct spec *sp)
{
    char key[16];
    int val, n;

    memset(sp, 0, sizeof(*sp));
    sp->to = -1;
    sp->fam = 4;
    while (*s) {
        if (sscanf(s, "%15[a-z]=%d%n", key, &val, &n) != 2 || val < 0)
            return -1;
        if (!strcmp(key, "est"))
            sp->est = val;
        else if (!strcmp(key, "to"))
            sp->to = val;
        else if (!strcmp(key, "tw"))
            sp->tw = val;
        else if (!strcmp(key, "bound"))
            sp->bound = val;
        else if (!strcmp(key, "udp"))
            sp->udp = val;
        else if (!strcmp(key, "fam"))
            sp->fam = val;
        else
            return -1;
        s += n;
        if (*s == ',')
            s++;
    }
    return 0;
}

static void write_rec(FILE *f, const struct rec *r, int first)
{
    fprintf(f, "%s\n {\"pid\": %d, \"proto\": \"%s\", \"family\": %d, \"state\": \"%s\", "
               "\"lport\": %d, \"raddr\": \"%s\", \"rport\": %d}",
            first ? "" : ",", r->pid, r->proto == 't' ? "tcp" : "udp", r->fam,
            r->proto == 't' ? r->state : "", r->lport, r->raddr, r->rport);
}

static pid_t children[2 * MAX_CLIENTS];
static int nchildren;

static void on_term(int sig)
{
    (void)sig;
    for (int i = 0; i < nchildren; i++)
        kill(children[i], SIGKILL);
    _exit(0);
}

/* Reads records from fd until a 'D' (or 'L') marker; writes them to f. */
static int drain(int fd, FILE *f, int *first, char until)
{
    struct rec r;
    int n = 0;
    for (;;) {
        ssize_t got = read(fd, &r, sizeof(r));
        if (got != (ssize_t)sizeof(r)) {
            fprintf(stderr, "sockhold: a child failed\n");
            on_term(0);
        }
        if (r.proto == until)
            return n;
        write_rec(f, &r, *first);
        *first = 0;
        n++;
    }
}

int main(int argc, char **argv)
{
    struct spec specs[MAX_CLIENTS];
    int nspecs = 0, first = 1;
    const char *out = NULL;
    int spipe[MAX_CLIENTS][2], cpipes[MAX_CLIENTS][2];
    FILE *f;
    char tmp[4096];

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--out") && i + 1 < argc)
            out = argv[++i];
        else if (!strcmp(argv[i], "--listen-base") && i + 1 < argc)
            listen_base = (int)strtol(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--listeners") && i + 1 < argc)
            nlisteners = (int)strtol(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--client") && i + 1 < argc && nspecs < MAX_CLIENTS) {
            if (parse_spec(argv[++i], &specs[nspecs]) != 0) {
                fprintf(stderr, "sockhold: bad client spec '%s'\n", argv[i]);
                return 2;
            }
            nspecs++;
        } else {
            fprintf(stderr, "sockhold: bad argument '%s'\n", argv[i]);
            return 2;
        }
    }
    if (!out || listen_base <= 0 || nlisteners <= 0 || nlisteners > MAX_CLIENTS ||
        listen_base + nlisteners > 65535) {
        fprintf(stderr, "usage: sockhold --out FILE --listen-base PORT --listeners K "
                        "--client SPEC...\n");
        return 2;
    }
    raise_nofile();
    signal(SIGTERM, on_term);
    signal(SIGINT, on_term);
    signal(SIGPIPE, SIG_IGN);
    snprintf(tmp, sizeof(tmp), "%s.tmp", out);
    f = fopen(tmp, "w");
    if (!f)
        die(tmp);
    fprintf(f, "{\"holder_pid\": %d, \"sockets\": [", getpid());

    for (int li = 0; li < nlisteners; li++) {
        int acc = 0, clo = 0;
        for (int i = 0; i < nspecs; i++)
            if ((specs[i].to >= 0 ? specs[i].to : i) % nlisteners == li) {
                acc += specs[i].est + specs[i].tw;
                clo += specs[i].tw;
            }
        if (pipe(spipe[li]) != 0)
            die("pipe");
        if ((children[nchildren++] = fork()) == 0) {
            close(spipe[li][0]);
            run_server(spipe[li][1], li, acc, clo);
        }
        close(spipe[li][1]);
        /* listeners first, so clients can connect */
        drain(spipe[li][0], f, &first, 'L');
    }
    for (int i = 0; i < nspecs; i++) {
        if (pipe(cpipes[i]) != 0)
            die("pipe");
        if ((children[nchildren++] = fork()) == 0) {
            close(cpipes[i][0]);
            run_client(cpipes[i][1], &specs[i], i);
        }
        close(cpipes[i][1]);
    }
    for (int i = 0; i < nspecs; i++)
        drain(cpipes[i][0], f, &first, 'D');
    for (int li = 0; li < nlisteners; li++)
        drain(spipe[li][0], f, &first, 'D');
    /* The last FIN/ACKs on loopback: let TIME_WAIT settle. */
    {
        struct timespec ts = {0, 200 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    fprintf(f, "\n]}\n");
    if (fclose(f) != 0 || rename(tmp, out) != 0)
        die(out);
    for (;;) {
        int st;
        pid_t p = wait(&st);
        if (p > 0) {
            fprintf(stderr, "sockhold: child %d exited\n", (int)p);
            on_term(0);
        }
        if (p < 0 && errno != EINTR)
            hold_forever();
    }
}
