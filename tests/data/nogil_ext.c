/* nogil_ext.c - a CPython extension for python_nogil.sh: allocates with
 * the GIL released, as numpy, zlib and I/O do around their C work.
 *
 *   hold(n)     malloc(n) and fill it, the GIL released; the block is kept
 *   hold_zeroed(n)  the same with calloc
 *   grow(n)     realloc of the last held block to n, the GIL released
 *   drop()      frees every held block
 *
 * Built by the test against each CPython present (nothing here depends on
 * a version).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdlib.h>
#include <string.h>

#define MAX_HELD 64
static void *held[MAX_HELD];
static int nheld;

static PyObject *keep(void *p)
{
    if (!p)
        return PyErr_NoMemory();
    if (nheld == MAX_HELD) {
        free(p);
        PyErr_SetString(PyExc_RuntimeError, "too many blocks held");
        return NULL;
    }
    held[nheld++] = p;
    Py_RETURN_NONE;
}

static PyObject *hold(PyObject *self, PyObject *arg)
{
    (void)self;
    Py_ssize_t n = PyLong_AsSsize_t(arg);
    if (n < 0 && PyErr_Occurred())
        return NULL;
    void *p;
    Py_BEGIN_ALLOW_THREADS
    p = malloc((size_t)n);
    if (p)
        memset(p, 1, (size_t)n);
    Py_END_ALLOW_THREADS
    return keep(p);
}

static PyObject *hold_zeroed(PyObject *self, PyObject *arg)
{
    (void)self;
    Py_ssize_t n = PyLong_AsSsize_t(arg);
    if (n < 0 && PyErr_Occurred())
        return NULL;
    void *p;
    Py_BEGIN_ALLOW_THREADS
    p = calloc(1, (size_t)n);
    Py_END_ALLOW_THREADS
    return keep(p);
}

static PyObject *grow(PyObject *self, PyObject *arg)
{
    (void)self;
    Py_ssize_t n = PyLong_AsSsize_t(arg);
    if (n < 0 && PyErr_Occurred())
        return NULL;
    if (!nheld) {
        PyErr_SetString(PyExc_RuntimeError, "no block held");
        return NULL;
    }
    void *p;
    Py_BEGIN_ALLOW_THREADS
    p = realloc(held[nheld - 1], (size_t)n);
    if (p)
        memset(p, 2, (size_t)n);
    Py_END_ALLOW_THREADS
    if (!p)
        return PyErr_NoMemory();
    held[nheld - 1] = p;
    Py_RETURN_NONE;
}

static PyObject *drop(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    Py_BEGIN_ALLOW_THREADS
    while (nheld)
        free(held[--nheld]);
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"hold", hold, METH_O, "malloc(n) with the GIL released"},
    {"hold_zeroed", hold_zeroed, METH_O, "calloc(1, n) with the GIL released"},
    {"grow", grow, METH_O, "realloc the last block to n with the GIL released"},
    {"drop", drop, METH_NOARGS, "free every block held"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "nogil_ext", NULL, -1, methods,
                                    NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit_nogil_ext(void)
{
    return PyModule_Create(&module);
}
