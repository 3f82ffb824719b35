/* countalloc.c - an oracle for allocation counts: counts the calls to
 * CPython's MEM and OBJ allocator domains (malloc, calloc, realloc and
 * free) between start() and stop(), wrapping whatever allocator is there
 * (memtap's hooks under memtap), and writes memtap markers at the two ends
 * from C, so that the window memtap sees is exactly the one counted
 * (python_counts.sh). Built by the test against each CPython. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <dlfcn.h>

static PyMemAllocatorEx orig[2];
static const int domains[2] = {PYMEM_DOMAIN_MEM, PYMEM_DOMAIN_OBJ};
/* per domain: malloc, calloc, realloc, realloc of a block (not NULL), free */
static unsigned long long counts[2][5];

static void *c_malloc(void *ctx, size_t n)
{
    int d = (int)(intptr_t)ctx;
    counts[d][0]++;
    return orig[d].malloc(orig[d].ctx, n);
}

static void *c_calloc(void *ctx, size_t k, size_t n)
{
    int d = (int)(intptr_t)ctx;
    counts[d][1]++;
    return orig[d].calloc(orig[d].ctx, k, n);
}

static void *c_realloc(void *ctx, void *p, size_t n)
{
    int d = (int)(intptr_t)ctx;
    counts[d][2]++;
    if (p)
        counts[d][3]++;
    return orig[d].realloc(orig[d].ctx, p, n);
}

static void c_free(void *ctx, void *p)
{
    int d = (int)(intptr_t)ctx;
    if (p)
        counts[d][4]++;
    orig[d].free(orig[d].ctx, p);
}

static void marker(const char *label)
{
    int (*mark)(const char *) = (int (*)(const char *))dlsym(RTLD_DEFAULT, "mt_marker");
    if (mark)
        mark(label);
}

static PyObject *start(PyObject *self, PyObject *unused)
{
    marker("counts-start");
    for (int d = 0; d < 2; d++) {
        PyMem_GetAllocator(domains[d], &orig[d]);
        PyMemAllocatorEx w = {(void *)(intptr_t)d, c_malloc, c_calloc, c_realloc, c_free};
        PyMem_SetAllocator(domains[d], &w);
    }
    Py_RETURN_NONE;
}

static PyObject *stop(PyObject *self, PyObject *unused)
{
    for (int d = 0; d < 2; d++)
        PyMem_SetAllocator(domains[d], &orig[d]);
    marker("counts-stop");
    Py_RETURN_NONE;
}

static PyObject *result(PyObject *self, PyObject *unused)
{
    unsigned long long t[5] = {0};
    for (int d = 0; d < 2; d++)
        for (int k = 0; k < 5; k++)
            t[k] += counts[d][k];
    return Py_BuildValue("(KKKKK)", t[0], t[1], t[2], t[3], t[4]);
}

static PyMethodDef methods[] = {{"start", start, METH_NOARGS, NULL},
                                {"stop", stop, METH_NOARGS, NULL},
                                {"result", result, METH_NOARGS, NULL},
                                {NULL, NULL, 0, NULL}};
static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "countalloc", NULL, -1, methods};

PyMODINIT_FUNC PyInit_countalloc(void)
{
    return PyModule_Create(&module);
}
