/* exec.c - a traced process that execs another program.
 *
 * An exec'd program that memtap can trace takes its process's trace file
 * over (trace_file.c) and starts it afresh. One it cannot trace (a static
 * binary; a setuid or setgid program, for which the kernel drops
 * LD_PRELOAD) writes nothing, so the trace would end as if the process had
 * been killed. So each exec function closes the trace first, as an exit
 * would, with the program's path in the header (MT_HDR_EXECED), and opens
 * it again if the exec fails. A setuid program is also said once on
 * stderr: it will not be traced.
 *
 * glibc's exec functions call each other inside libc, out of reach: each
 * public one is interposed. A vfork child (another pid in the parent's
 * memory) touches nothing.
 */
#define _GNU_SOURCE
#include <alloca.h>
#include <dlfcn.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mt_shim.h"

extern char **environ;

static int said_setuid;

static void before(const char *path)
{
    if (!mt_enabled || getpid() != mt_traced_pid())
        return;
    struct stat st;
    if (path && !said_setuid && stat(path, &st) == 0 &&
        (((st.st_mode & S_ISUID) && st.st_uid != geteuid()) ||
         ((st.st_mode & S_ISGID) && st.st_gid != getegid()))) {
        said_setuid = 1;
        mt_say(path, " is setuid or setgid: the kernel drops LD_PRELOAD, it is not traced", "");
    }
    mt_writer_before_exec(path ? path : "");
}

static void failed(void)
{
    if (getpid() == mt_traced_pid())
        mt_writer_exec_failed();
}

typedef int (*execve_fn)(const char *, char *const[], char *const[]);
typedef int (*fexecve_fn)(int, char *const[], char *const[]);
static execve_fn real_execve, real_execvpe;
static fexecve_fn real_fexecve;

/* At start-up, under the constructor's guard (dlsym may allocate: not in
 * a vfork child, which shares its parent's memory); again on a first call
 * made before that. */
void mt_exec_init(void)
{
    if (!real_execve)
        real_execve = (execve_fn)dlsym(RTLD_NEXT, "execve");
    if (!real_execvpe)
        real_execvpe = (execve_fn)dlsym(RTLD_NEXT, "execvpe");
    if (!real_fexecve)
        real_fexecve = (fexecve_fn)dlsym(RTLD_NEXT, "fexecve");
}

__attribute__((visibility("default"))) int execve(const char *path, char *const argv[],
                                                  char *const envp[])
{
    if (!real_execve)
        mt_exec_init();
    before(path);
    int rc = real_execve(path, argv, envp);
    failed();
    return rc;
}

__attribute__((visibility("default"))) int execv(const char *path, char *const argv[])
{
    return execve(path, argv, environ);
}

__attribute__((visibility("default"))) int execvpe(const char *file, char *const argv[],
                                                   char *const envp[])
{
    if (!real_execvpe)
        mt_exec_init();
    before(file);
    int rc = real_execvpe(file, argv, envp);
    failed();
    return rc;
}

__attribute__((visibility("default"))) int execvp(const char *file, char *const argv[])
{
    return execvpe(file, argv, environ);
}

__attribute__((visibility("default"))) int fexecve(int fd, char *const argv[], char *const envp[])
{
    if (!real_fexecve)
        mt_exec_init();
    const char *name = argv[0];
    before(name ? name : "");
    int rc = real_fexecve(fd, argv, envp);
    failed();
    return rc;
}

/* The execl family: the arguments into an array on the stack (alloca, not
 * malloc: a vfork child may call these). */
#define ARGS_FROM_LIST(first, ap, argv, envp_out)                                            \
    size_t n = 1;                                                                            \
    va_start(ap, first);                                                                     \
    while (va_arg(ap, const char *))                                                         \
        n++;                                                                                 \
    va_end(ap);                                                                              \
    char **argv = alloca((n + 1) * sizeof *argv);                                            \
    argv[0] = (char *)(uintptr_t)first;                                                      \
    va_start(ap, first);                                                                     \
    for (size_t i = 1; i <= n; i++)                                                          \
        argv[i] = (char *)(uintptr_t)va_arg(ap, const char *);                               \
    envp_out;                                                                                \
    va_end(ap)

__attribute__((visibility("default"))) int execl(const char *path, const char *arg, ...)
{
    va_list ap;
    ARGS_FROM_LIST(arg, ap, argv, (void)0);
    return execve(path, argv, environ);
}

__attribute__((visibility("default"))) int execlp(const char *file, const char *arg, ...)
{
    va_list ap;
    ARGS_FROM_LIST(arg, ap, argv, (void)0);
    return execvpe(file, argv, environ);
}

__attribute__((visibility("default"))) int execle(const char *path, const char *arg, ...)
{
    va_list ap;
    char *const *envp;
    ARGS_FROM_LIST(arg, ap, argv, envp = va_arg(ap, char *const *));
    return execve(path, argv, envp);
}
