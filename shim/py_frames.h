/* py_frames.h - Python frames, named and numbered (py_frames.c), for the
 * stack walks of python.c.
 */
#ifndef MT_PY_FRAMES_H
#define MT_PY_FRAMES_H

#include <stdint.h>

struct mt_thread;
struct mt_py_layout;

/* The frame table (the constructor, before any other thread): 0, or -1
 * out of memory. */
int mt_py_frames_init(void);

/* The layout of the running version, and its PyCode_Addr2Line: before the
 * first frame is named. */
void mt_py_frames_use(const struct mt_py_layout *L, int (*code_addr2line)(void *, int));

/* The id of Python frame (code, offset) of the code object whose identity
 * (python.c's code table) is given, created, and its PYFRAME record
 * written, the first time it is seen. 0 when every generation of the
 * table is full (said at exit: mt_py_frames_lost). The GIL is held. */
uint32_t mt_py_frame_id(struct mt_thread *t, void *code, uint64_t identity, uint32_t offset);

#endif
