/* The hot paths of compiled execution in C: an actor's reaction loop, the driver's trigger
 * (with its wake-up) and read of plain records, and a pickler of plain values (see
 * compiled.py; slots.py for the layout of slots and trigger queues, channel.py for the
 * sleeping word and the doorbell, serialization.py for the pickles).
 *
 * run_reactions does what compiled.ActorReactions.run and worker.ActorLoop do, on the same
 * shared memory and in the same memory order, so either may run any reaction and the other
 * never notices:
 *
 *     loop: head of the trigger queue -> node of the graph -> its inputs from upstream
 *           reactions written? -> its in-slot's plain record -> pop the trigger
 *           -> pickle.loads (and Python's _resolve for connections) -> call the method
 *           -> encode (or pickle_plain) -> write the out-slot (data, length, then the tag)
 *           -> done word -> wake the downstream actors and the driver if they sleep
 *           queue and inbox empty: announce the sleep, fence, look again, sleep on the
 *           doorbell (without the GIL)
 *
 * It returns to Python for everything else: a record in the inbox, a head it does not
 * handle (a dynamic call's entry, an unwritten input, a moved slot, an in-slot record that is
 * not one plain pickle, num_returns != 1), a result that is neither one plain pickle nor one
 * frame with out-of-band buffers or that does not fit, an exception, and after sleeping
 * `timeout` seconds with nothing to do. Python runs those the general way. Python's own code
 * for all of this stays: it is the fallback when this module is not built (or RAYREACT_C=0).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <errno.h>
#include <semaphore.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the slot layouts and the plain encoder assume a little-endian machine"
#endif

/* slots.py */
#define SLOT_HDR_BYTES 128
#define BUF_WORDS 8
#define W_TAG 0
#define W_NBYTES 1
#define W_MOVED 14
#define W_DONE 15
#define PLAIN_FLAG (1ULL << 62)
/* slots.TriggerQueue: word 0 tail, word 8 head, entries of 3 words from word 16 */
#define Q_TAIL 0
#define Q_HEAD 8
#define Q_ENTRY 16
/* channel.py header words and sleeping states */
#define C_HEAD 0
#define C_TAIL 1
#define C_SLEEPING 6
#define C_AWAITED 7
#define AWAKE 0
#define WAITING 1
#define ASLEEP_MASK 3 /* WAITING | IDLE */

static inline uint64_t load(volatile uint64_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
static inline void store(volatile uint64_t *p, uint64_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
static inline void fence(void) { __atomic_thread_fence(__ATOMIC_SEQ_CST); }

/* The memory of a memoryview still open, or NULL (then Python takes over). */
static void *mem(PyObject *mv, Py_ssize_t *len)
{
    if (!PyMemoryView_Check(mv))
        return NULL;
    if (((PyMemoryViewObject *)mv)->flags & _Py_MEMORYVIEW_RELEASED)
        return NULL;
    Py_buffer *b = PyMemoryView_GET_BUFFER(mv);
    if (len)
        *len = b->len;
    return b->buf;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static PyObject *str_fast, *str_current_call, *str_meta, *str_buffers, *str_refs, *str_segment;

/* One compiled node's fast form: node.fast = (in_mv, in_cap, out_mv, out_cap, fn, key_base,
 * consumers): the slots' whole mappings (memoryview) and capacities (bytes per buffer), the
 * method, compiled.output_key(graph, index, 0), ((inbox header, doorbell handle), ...) of
 * the downstream actors to wake, and the out-slots of the upstream reactions it reads. */
typedef struct {
    volatile uint64_t *in_w, *out_w;
    char *in_data, *out_data;
    uint64_t in_cap, out_cap;
    PyObject *fn;
    uint64_t key_base;
    PyObject *consumers; /* tuple */
    PyObject *upstream;  /* tuple of the out-slot mappings (memoryview) it reads */
} fastnode;

static int unpack_node(PyObject *node, fastnode *f, PyObject **hold)
{
    PyObject *t = PyObject_GetAttr(node, str_fast);
    if (t == NULL)
        return -1;
    *hold = t;
    if (t == Py_None || !PyTuple_Check(t) || PyTuple_GET_SIZE(t) != 8 ||
        !PyTuple_Check(PyTuple_GET_ITEM(t, 6)) || !PyTuple_Check(PyTuple_GET_ITEM(t, 7)))
        return 0;
    Py_ssize_t in_len = 0, out_len = 0;
    char *in = mem(PyTuple_GET_ITEM(t, 0), &in_len), *out = mem(PyTuple_GET_ITEM(t, 2), &out_len);
    if (in == NULL || out == NULL)
        return 0;
    f->in_cap = PyLong_AsUnsignedLongLong(PyTuple_GET_ITEM(t, 1));
    f->out_cap = PyLong_AsUnsignedLongLong(PyTuple_GET_ITEM(t, 3));
    f->key_base = PyLong_AsUnsignedLongLong(PyTuple_GET_ITEM(t, 5));
    if (PyErr_Occurred())
        return -1;
    if ((uint64_t)in_len < SLOT_HDR_BYTES + 2 * f->in_cap ||
        (uint64_t)out_len < SLOT_HDR_BYTES + 2 * f->out_cap)
        return 0;
    f->in_w = (volatile uint64_t *)in;
    f->out_w = (volatile uint64_t *)out;
    f->in_data = in + SLOT_HDR_BYTES;
    f->out_data = out + SLOT_HDR_BYTES;
    f->fn = PyTuple_GET_ITEM(t, 4);
    f->consumers = PyTuple_GET_ITEM(t, 6);
    f->upstream = PyTuple_GET_ITEM(t, 7);
    return 1;
}

/* The plain record of `tag` in a slot's mapping, if it is written: bytes, or NULL. */
static int plain_record(char *slot, Py_ssize_t len, uint64_t cap, uint64_t tag, PyObject **out)
{
    volatile uint64_t *w = (volatile uint64_t *)slot;
    uint64_t b = tag & 1;
    *out = NULL;
    if ((uint64_t)len < SLOT_HDR_BYTES + 2 * cap || load(&w[W_MOVED]) ||
        load(&w[b * BUF_WORDS + W_TAG]) != tag)
        return 0;
    const char *rec = slot + SLOT_HDR_BYTES + b * cap;
    uint32_t nframes, zero;
    uint64_t mask, desc;
    memcpy(&nframes, rec, 4);
    memcpy(&zero, rec + 4, 4);
    memcpy(&mask, rec + 8, 8);
    memcpy(&desc, rec + 16, 8);
    uint64_t size = desc & ~PLAIN_FLAG;
    if (nframes != 1 || zero || mask || !(desc & PLAIN_FLAG) || 24 + size > cap)
        return 0;
    *out = PyBytes_FromStringAndSize(rec + 24, (Py_ssize_t)size);
    return *out == NULL ? -1 : 1;
}

/* serialization.Frame.pieces() of `frame` (no refs, no segment) as the one-frame record of
 * slots.Slot.write, at `w`, if it fits in `cap` bytes: its size, or 0 (Python writes it), or
 * -1 with an exception set. */
#define INLINE_MAX (32ULL << 20)
static int64_t write_frame_record(char *w, uint64_t cap, PyObject *frame)
{
    int64_t result = 0;
    PyObject *meta = NULL, *bufs = NULL, *refs = NULL, *seg = NULL;
    Py_buffer views[8];
    Py_ssize_t nviews = 0;
    if (!(meta = PyObject_GetAttr(frame, str_meta)) || !(bufs = PyObject_GetAttr(frame, str_buffers)) ||
        !(refs = PyObject_GetAttr(frame, str_refs)) || !(seg = PyObject_GetAttr(frame, str_segment))) {
        PyErr_Clear(); /* not a Frame: Python's */
        goto out;
    }
    Py_ssize_t nbuf = PyList_Check(bufs) ? PyList_GET_SIZE(bufs) : -1;
    if (seg != Py_None || PyObject_IsTrue(refs) != 0 || nbuf < 0 || nbuf > 8)
        goto out;
    Py_buffer mv;
    if (PyObject_GetBuffer(meta, &mv, PyBUF_SIMPLE) < 0) {
        PyErr_Clear();
        goto out;
    }
    for (; nviews < nbuf; nviews++) {
        if (PyObject_GetBuffer(PyList_GET_ITEM(bufs, nviews), &views[nviews], PyBUF_SIMPLE) < 0) {
            PyErr_Clear();
            goto release;
        }
    }
    /* the frame's size, as Frame.pieces lays it out */
    uint64_t n = 8 + 8 * (uint64_t)nbuf + (uint64_t)mv.len;
    for (Py_ssize_t i = 0; i < nbuf; i++)
        n = ((n + 63) & ~63ULL) + (uint64_t)views[i].len;
    n = (n + 7) & ~7ULL;
    if (n > INLINE_MAX || 24 + n > cap)
        goto release;
    uint32_t one = 1, zero = 0, nb = (uint32_t)nbuf, ml = (uint32_t)mv.len;
    uint64_t zero64 = 0;
    memcpy(w, &one, 4);
    memcpy(w + 4, &zero, 4);
    memcpy(w + 8, &zero64, 8);
    memcpy(w + 16, &n, 8);
    char *fr = w + 24;
    memcpy(fr, &nb, 4);
    memcpy(fr + 4, &ml, 4);
    for (Py_ssize_t i = 0; i < nbuf; i++) {
        uint64_t len = (uint64_t)views[i].len;
        memcpy(fr + 8 + 8 * i, &len, 8);
    }
    uint64_t pos = 8 + 8 * (uint64_t)nbuf;
    memcpy(fr + pos, mv.buf, (size_t)mv.len);
    pos += (uint64_t)mv.len;
    for (Py_ssize_t i = 0; i < nbuf; i++) {
        uint64_t p = ((pos + 63) & ~63ULL) - pos;
        memset(fr + pos, 0, (size_t)p);
        pos += p;
        memcpy(fr + pos, views[i].buf, (size_t)views[i].len);
        pos += (uint64_t)views[i].len;
    }
    memset(fr + pos, 0, (size_t)(n - pos));
    result = (int64_t)(24 + n);
release:
    for (Py_ssize_t i = 0; i < nviews; i++)
        PyBuffer_Release(&views[i]);
    PyBuffer_Release(&mv);
out:
    Py_XDECREF(meta);
    Py_XDECREF(bufs);
    Py_XDECREF(refs);
    Py_XDECREF(seg);
    return result;
}

/* The exception being raised, taken (normalised, its traceback attached): a new reference. */
static PyObject *take_exception(void)
{
    PyObject *et, *ev, *tb;
    PyErr_Fetch(&et, &ev, &tb);
    PyErr_NormalizeException(&et, &ev, &tb);
    if (tb != NULL && ev != NULL)
        PyException_SetTraceback(ev, tb);
    Py_XDECREF(et);
    Py_XDECREF(tb);
    return ev;
}

/* -- the plain encoder -------------------------------------------------------------------------
 * encode(value) -> bytes or None, and encode_into (the actor's result, straight into its
 * out-slot): the protocol-5 pickle of a value made only of None, bool, int (64 bits), float,
 * str, bytes, tuple, list and dict, and of small NumPy arrays as serialization._Pickler
 * reduces them: _array(bytes, dtype string, shape), _array named by its copyreg extension
 * code. Anything else (another type, a subclass, a container met twice, a dtype whose string
 * serialization has not cached yet, an array that is not C-contiguous or is larger than
 * SMALL_ARRAY) returns "not plain" and the Python pickler does the value, as before. The
 * stream has no memo entries (nothing is shared, see `seen`) and no frame opcode; pickle.loads
 * reads it as it reads the pickler's. */
static PyObject *ndarray_type, *dtype_strs, *str_dtype;
static PyObject *last_dtype, *last_str; /* the last dtype looked up, and its string */
static uint32_t array_ext;        /* 0: arrays are not encoded here */
static Py_ssize_t small_array;

typedef struct {
    char *p, *end, *base;
    int grow;                     /* a PyMem buffer that may grow (encode), or a slot's memory */
    int depth;
    /* The containers met so far, none twice (a hash set of addresses, open addressing): a
     * shared or recursive one is left to the pickler, whose memo keeps it one object. */
    PyObject **seen;
    size_t nseen, mask;
    PyObject *seen0[64];
} writer;

enum { NOT_PLAIN = 0, PLAIN = 1 };

static void writer_init(writer *w, char *p, char *end, char *base, int grow)
{
    w->p = p;
    w->end = end;
    w->base = base;
    w->grow = grow;
    w->depth = 0;
    w->seen = w->seen0;
    w->nseen = 0;
    w->mask = 63;
    memset(w->seen0, 0, sizeof w->seen0);
}

static void writer_done(writer *w)
{
    if (w->seen != w->seen0)
        PyMem_Free(w->seen);
}

static size_t slot_of(PyObject **set, size_t mask, PyObject *v)
{
    size_t i = ((uintptr_t)v >> 4) * 0x9E3779B97F4A7C15ULL >> 32 & mask;
    while (set[i] != NULL && set[i] != v)
        i = (i + 1) & mask;
    return i;
}

/* Add container `v`: PLAIN, NOT_PLAIN if it was met before, -1 on an error. */
static int see(writer *w, PyObject *v)
{
    size_t i = slot_of(w->seen, w->mask, v);
    if (w->seen[i] == v)
        return NOT_PLAIN;
    if (2 * (w->nseen + 1) > w->mask + 1) { /* keep it at most half full */
        size_t mask = 2 * w->mask + 1;
        PyObject **set = PyMem_Calloc(mask + 1, sizeof *set);
        if (set == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        for (size_t j = 0; j <= w->mask; j++)
            if (w->seen[j] != NULL)
                set[slot_of(set, mask, w->seen[j])] = w->seen[j];
        if (w->seen != w->seen0)
            PyMem_Free(w->seen);
        w->seen = set;
        w->mask = mask;
        i = slot_of(set, mask, v);
    }
    w->seen[i] = v;
    w->nseen++;
    return PLAIN;
}

static int room(writer *w, Py_ssize_t n)
{
    if (w->end - w->p >= n)
        return PLAIN;
    if (!w->grow)
        return NOT_PLAIN;
    Py_ssize_t used = w->p - w->base, cap = (w->end - w->base) * 2 + n;
    char *b = PyMem_Realloc(w->base, (size_t)cap);
    if (b == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    w->base = b;
    w->p = b + used;
    w->end = b + cap;
    return PLAIN;
}

#define PUT(w, src, n) do { int r_ = room((w), (n)); if (r_ != PLAIN) return r_; \
                            memcpy((w)->p, (src), (n)); (w)->p += (n); } while (0)
#define PUT1(w, c) do { int r_ = room((w), 1); if (r_ != PLAIN) return r_; *(w)->p++ = (char)(c); } while (0)

static int put_sized(writer *w, char op1, char op4, const char *data, Py_ssize_t n)
{
    if (n < 256) {
        unsigned char len = (unsigned char)n;
        PUT1(w, op1);
        PUT1(w, len);
    } else {
        if (n > 0xFFFFFFFFLL)
            return NOT_PLAIN;
        uint32_t len = (uint32_t)n;
        PUT1(w, op4);
        PUT(w, &len, 4);
    }
    PUT(w, data, n);
    return PLAIN;
}

static int put_int(writer *w, long long v)
{
    if (v >= 0 && v < 256) {
        PUT1(w, 'K');
        PUT1(w, v);
    } else if (v >= 0 && v < 65536) {
        uint16_t x = (uint16_t)v;
        PUT1(w, 'M');
        PUT(w, &x, 2);
    } else if (v >= INT32_MIN && v <= INT32_MAX) {
        int32_t x = (int32_t)v;
        PUT1(w, 'J');
        PUT(w, &x, 4);
    } else { /* LONG1: little-endian two's complement, as few bytes as the pickler uses */
        unsigned char b[8];
        int n = 8;
        memcpy(b, &v, 8);
        while (n > 1 && ((b[n - 1] == 0 && !(b[n - 2] & 0x80)) ||
                         (b[n - 1] == 0xFF && (b[n - 2] & 0x80))))
            n--;
        PUT1(w, 0x8a);
        PUT1(w, n);
        PUT(w, b, n);
    }
    return PLAIN;
}

static int put_value(writer *w, PyObject *v);

static int put_items(writer *w, PyObject *seq, char op) /* MARK items op */
{
    PUT1(w, '(');
    for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(seq); i++) {
        int r = put_value(w, PySequence_Fast_GET_ITEM(seq, i));
        if (r != PLAIN)
            return r;
    }
    PUT1(w, op);
    return PLAIN;
}

static int put_array(writer *w, PyObject *v)
{
    PyObject *dt = PyObject_GetAttr(v, str_dtype);
    if (dt == NULL)
        return -1;
    PyObject *s;
    if (dt == last_dtype) { /* (hashing a dtype is not cheap; a value's arrays share one) */
        s = last_str;
    } else {
        s = PyDict_GetItemWithError(dtype_strs, dt); /* borrowed */
        if (s != NULL) {
            Py_XSETREF(last_dtype, Py_NewRef(dt));
            Py_XSETREF(last_str, Py_NewRef(s));
        }
    }
    Py_DECREF(dt);
    if (s == NULL)
        return PyErr_Occurred() ? -1 : NOT_PLAIN;
    if (!PyUnicode_CheckExact(s))
        return NOT_PLAIN; /* False: NumPy's own reduction */
    Py_buffer view;
    if (PyObject_GetBuffer(v, &view, PyBUF_C_CONTIGUOUS) < 0) {
        PyErr_Clear();
        return NOT_PLAIN;
    }
    int r = NOT_PLAIN;
    Py_ssize_t slen;
    const char *sd = PyUnicode_AsUTF8AndSize(s, &slen);
    if (sd == NULL) {
        r = -1;
        goto out;
    }
    if (view.len > small_array || view.ndim > 32)
        goto out;
    unsigned char ext4 = 0x84;
    if ((r = room(w, 5)) != PLAIN)
        goto out;
    *w->p++ = (char)ext4;
    memcpy(w->p, &array_ext, 4);
    w->p += 4;
    if ((r = put_sized(w, 'C', 'B', view.buf, view.len)) != PLAIN ||
        (r = put_sized(w, (char)0x8c, 'X', sd, slen)) != PLAIN)
        goto out;
    if ((r = room(w, 1)) != PLAIN)
        goto out;
    *w->p++ = view.ndim == 0 ? ')' : '(';
    if (view.ndim > 0) {
        for (int i = 0; i < view.ndim; i++)
            if ((r = put_int(w, view.shape[i])) != PLAIN)
                goto out;
        if ((r = room(w, 1)) != PLAIN)
            goto out;
        *w->p++ = 't';
    }
    if ((r = room(w, 2)) != PLAIN)
        goto out;
    *w->p++ = (char)0x87; /* TUPLE3: (bytes, dtype string, shape) */
    *w->p++ = 'R';        /* REDUCE */
    r = PLAIN;
out:
    PyBuffer_Release(&view);
    return r;
}

static int put_value(writer *w, PyObject *v)
{
    PyTypeObject *t = Py_TYPE(v);
    if (v == Py_None) {
        PUT1(w, 'N');
    } else if (v == Py_True) {
        PUT1(w, 0x88);
    } else if (v == Py_False) {
        PUT1(w, 0x89);
    } else if (t == &PyLong_Type) {
        int overflow;
        long long x = PyLong_AsLongLongAndOverflow(v, &overflow);
        if (overflow)
            return NOT_PLAIN;
        if (x == -1 && PyErr_Occurred())
            return -1;
        return put_int(w, x);
    } else if (t == &PyFloat_Type) {
        uint64_t bits;
        double d = PyFloat_AS_DOUBLE(v);
        memcpy(&bits, &d, 8);
        bits = __builtin_bswap64(bits); /* BINFLOAT is big-endian */
        PUT1(w, 'G');
        PUT(w, &bits, 8);
    } else if (t == &PyUnicode_Type) {
        Py_ssize_t n;
        const char *u = PyUnicode_AsUTF8AndSize(v, &n);
        if (u == NULL) { /* a lone surrogate: the pickler's surrogatepass is not ours */
            PyErr_Clear();
            return NOT_PLAIN;
        }
        return put_sized(w, (char)0x8c, 'X', u, n);
    } else if (t == &PyBytes_Type) {
        return put_sized(w, 'C', 'B', PyBytes_AS_STRING(v), PyBytes_GET_SIZE(v));
    } else if (t == &PyTuple_Type || t == &PyList_Type || t == &PyDict_Type ||
               (t == (PyTypeObject *)ndarray_type && array_ext)) {
        if (w->depth > 32)
            return NOT_PLAIN;
        int r = see(w, v);
        if (r != PLAIN)
            return r;
        if (t == (PyTypeObject *)ndarray_type)
            return put_array(w, v);
        w->depth++;
        if (t == &PyTuple_Type) {
            Py_ssize_t n = PyTuple_GET_SIZE(v);
            if (n == 0) {
                PUT1(w, ')');
            } else if (n <= 3) {
                for (Py_ssize_t i = 0; i < n && r == PLAIN; i++)
                    r = put_value(w, PyTuple_GET_ITEM(v, i));
                if (r == PLAIN)
                    PUT1(w, 0x84 + n); /* TUPLE1..TUPLE3 */
            } else {
                r = put_items(w, v, 't');
            }
        } else if (t == &PyList_Type) {
            PUT1(w, ']');
            if (PyList_GET_SIZE(v) > 0)
                r = put_items(w, v, 'e'); /* (a list that changes meanwhile: only this thread runs) */
        } else {
            PUT1(w, '}');
            if (PyDict_GET_SIZE(v) > 0) {
                PyObject *k, *x;
                Py_ssize_t pos = 0;
                PUT1(w, '(');
                while (r == PLAIN && PyDict_Next(v, &pos, &k, &x)) {
                    r = put_value(w, k);
                    if (r == PLAIN)
                        r = put_value(w, x);
                }
                if (r == PLAIN)
                    PUT1(w, 'u');
            }
        }
        w->depth--;
        return r;
    } else {
        return NOT_PLAIN;
    }
    return PLAIN;
}

/* The pickle of `v` into [p, end): its length, 0 if not plain (or it does not fit), -1 on an
 * error (set). */
static Py_ssize_t encode_into(char *p, char *end, PyObject *v)
{
    writer w;
    if (end - p < 3)
        return 0;
    writer_init(&w, p + 2, end, p, 0);
    p[0] = (char)0x80;
    p[1] = 5;
    int r = put_value(&w, v);
    writer_done(&w);
    if (r != PLAIN)
        return r;
    if (w.p == w.end)
        return 0;
    *w.p++ = '.';
    return w.p - p;
}

static PyObject *encode(PyObject *Py_UNUSED(self), PyObject *v)
{
    char *b = PyMem_Malloc(256);
    if (b == NULL)
        return PyErr_NoMemory();
    writer w;
    writer_init(&w, b + 2, b + 256, b, 1);
    b[0] = (char)0x80;
    b[1] = 5;
    int r = put_value(&w, v);
    writer_done(&w);
    PyObject *out = NULL;
    if (r == PLAIN && room(&w, 1) == PLAIN) {
        *w.p++ = '.';
        out = PyBytes_FromStringAndSize(w.base, w.p - w.base);
    } else if (!PyErr_Occurred()) {
        out = Py_NewRef(Py_None);
    }
    PyMem_Free(w.base);
    return out;
}

/* plain_config(ndarray type, serialization._dtype_strs, extension code of _array or 0,
 * SMALL_ARRAY) */
static PyObject *plain_config(PyObject *Py_UNUSED(self), PyObject *args)
{
    PyObject *nd, *strs;
    unsigned int ext;
    Py_ssize_t small;
    if (!PyArg_ParseTuple(args, "OO!In", &nd, &PyDict_Type, &strs, &ext, &small))
        return NULL;
    Py_XSETREF(ndarray_type, Py_NewRef(nd));
    Py_XSETREF(dtype_strs, Py_NewRef(strs));
    array_ext = ext;
    small_array = small;
    Py_RETURN_NONE;
}

/* run_reactions(queue, inbox, doorbell, graphs, driver_hdr, driver_doorbell, rt, loads,
 *     pickle_plain, resolve, timeout)
 *
 *   queue: TriggerQueue.w; inbox: this process's Channel._hdr; doorbell: its semaphore's
 *   handle (sem_t * as int); graphs: ActorReactions.graphs ({gid: {index: _ActorNode}});
 *   driver_hdr / driver_doorbell: the driver's inbox header and semaphore handle; rt: the
 *   Runtime (its current_call is set around each method call); resolve(tag, node, args, kwargs):
 *   (args, kwargs) with the values of the node's connections in place of their markers;
 *   timeout: seconds asleep before returning False.
 *
 * Returns None: Python must look (nothing of the head was taken); False: slept `timeout`
 * seconds with nothing to do; (tag, node, value, error, result): the reaction ran (its
 * trigger is popped) but its output is not written: `error` is the exception that loading
 * or resolving the arguments (result None) or calling the method (result False) raised,
 * else `value` is the return value and `result` what pickle_plain made of it.
 */
static PyObject *run_reactions(PyObject *Py_UNUSED(self), PyObject *args)
{
    PyObject *queue_mv, *inbox_mv, *graphs, *driver_mv, *rt, *loads, *serialize, *resolve;
    unsigned long long doorbell_h, driver_h;
    double timeout;
    if (!PyArg_ParseTuple(args, "OOKO!OKOOOOd", &queue_mv, &inbox_mv, &doorbell_h, &PyDict_Type,
                          &graphs, &driver_mv, &driver_h, &rt, &loads, &serialize, &resolve,
                          &timeout))
        return NULL;
    sem_t *doorbell = (sem_t *)(uintptr_t)doorbell_h, *driver_bell = (sem_t *)(uintptr_t)driver_h;
    Py_ssize_t qlen = 0;
    volatile uint64_t *q = mem(queue_mv, &qlen), *inbox = mem(inbox_mv, NULL),
                      *drv = mem(driver_mv, NULL);
    if (q == NULL || inbox == NULL || drv == NULL)
        Py_RETURN_NONE;
    uint64_t capacity = ((uint64_t)qlen / 8 - Q_ENTRY) / 3;
    double spin = 0.0;

    for (;;) {
        uint64_t head = load(&q[Q_HEAD]);
        if (head == load(&q[Q_TAIL])) {
            /* Nothing triggered: a record in the inbox is Python's; else sleep. */
            if (load(&inbox[C_HEAD]) != load(&inbox[C_TAIL]))
                Py_RETURN_NONE;
            double start = now();
            int rang = 0;
            if (spin > 0) { /* adaptive poll, as worker._Loop.idle_wait */
                while (now() - start < spin) {
                    if (load(&q[Q_HEAD]) != load(&q[Q_TAIL]) ||
                        load(&inbox[C_HEAD]) != load(&inbox[C_TAIL])) {
                        rang = 1;
                        break;
                    }
                }
            }
            if (!rang) {
                /* channel.Channel.wait's handshake: announce, fence, look again. */
                store(&inbox[C_SLEEPING], WAITING);
                fence();
                if (load(&q[Q_HEAD]) != load(&q[Q_TAIL]) ||
                    load(&inbox[C_HEAD]) != load(&inbox[C_TAIL])) {
                    rang = 1;
                } else {
                    struct timespec dl;
                    clock_gettime(CLOCK_REALTIME, &dl);
                    double s = dl.tv_nsec * 1e-9 + timeout;
                    dl.tv_sec += (time_t)s;
                    dl.tv_nsec = (long)((s - (double)(time_t)s) * 1e9);
                    int r, err = 0;
                    Py_BEGIN_ALLOW_THREADS
                    r = sem_timedwait(doorbell, &dl);
                    if (r < 0)
                        err = errno;
                    Py_END_ALLOW_THREADS
                    store(&inbox[C_SLEEPING], AWAKE);
                    if (r == 0) {
                        rang = 1;
                    } else if (err == EINTR) {
                        if (PyErr_CheckSignals() < 0)
                            return NULL;
                        rang = 1; /* look again */
                    } else if (err == ETIMEDOUT) {
                        Py_RETURN_FALSE;
                    } else {
                        errno = err;
                        return PyErr_SetFromErrno(PyExc_OSError);
                    }
                }
                store(&inbox[C_SLEEPING], AWAKE);
            }
            spin = now() - start < 100e-6 ? 100e-6 : 0.0;
            continue;
        }

        /* The head trigger: (graph, tag, node index). */
        volatile uint64_t *e = &q[Q_ENTRY + 3 * (head % capacity)];
        uint64_t gid = e[0], tag = e[1], index = e[2];
        if (gid == 0) /* the driver's next dynamic call */
            Py_RETURN_NONE;
        PyObject *k = PyLong_FromUnsignedLongLong(gid);
        if (k == NULL)
            return NULL;
        PyObject *nodes = PyDict_GetItemWithError(graphs, k); /* borrowed */
        Py_DECREF(k);
        if (nodes == NULL || !PyDict_Check(nodes)) {
            if (PyErr_Occurred())
                return NULL;
            Py_RETURN_NONE; /* its install call is still in the inbox */
        }
        k = PyLong_FromUnsignedLongLong(index);
        if (k == NULL)
            return NULL;
        PyObject *node = PyDict_GetItemWithError(nodes, k);
        Py_DECREF(k);
        if (node == NULL) {
            if (PyErr_Occurred())
                return NULL;
            Py_RETURN_NONE;
        }
        fastnode f;
        PyObject *hold = NULL;
        int ok = unpack_node(node, &f, &hold);
        if (ok <= 0) {
            Py_XDECREF(hold);
            if (ok < 0)
                return NULL;
            Py_RETURN_NONE;
        }
        Py_INCREF(node);
        Py_INCREF(f.fn);
        Py_DECREF(hold); /* (node.fast may change while the method runs: keep what we use) */

        /* Its inputs from upstream reactions must be written (else Python waits for them:
         * compiled.ActorReactions.next_trigger), and the in-slot's record of this tag must be
         * one plain pickle (slots.Slot.read_plain). */
        uint64_t b = tag & 1;
        int inputs = 1;
        for (Py_ssize_t i = 0; inputs && i < PyTuple_GET_SIZE(f.upstream); i++) {
            volatile uint64_t *uw = mem(PyTuple_GET_ITEM(f.upstream, i), NULL);
            inputs = uw != NULL && !load(&uw[W_MOVED]) && load(&uw[b * BUF_WORDS + W_TAG]) == tag;
        }
        if (!inputs) {
            Py_DECREF(node);
            Py_DECREF(f.fn);
            Py_RETURN_NONE;
        }
        PyObject *data;
        int got = plain_record((char *)f.in_w, SLOT_HDR_BYTES + 2 * f.in_cap, f.in_cap, tag, &data);
        if (got <= 0) {
            Py_DECREF(node);
            Py_DECREF(f.fn);
            if (got < 0)
                return NULL;
            Py_RETURN_NONE;
        }
        store(&q[Q_HEAD], head + 1); /* pop: the reaction is ours now */

        PyObject *value = NULL, *error = NULL, *res = NULL, *out = NULL, *ctx = NULL;
        PyObject *a = PyObject_CallOneArg(loads, data);
        Py_DECREF(data);
        if (a != NULL && PyTuple_GET_SIZE(f.upstream) && PyTuple_Check(a) &&
            PyTuple_GET_SIZE(a) == 2) { /* connections: their values replace the markers */
            PyObject *r = PyObject_CallFunction(resolve, "KOOO", (unsigned long long)tag, node,
                                                PyTuple_GET_ITEM(a, 0), PyTuple_GET_ITEM(a, 1));
            Py_DECREF(a);
            a = r;
        }
        if (a != NULL && (!PyTuple_Check(a) || PyTuple_GET_SIZE(a) != 2)) {
            Py_DECREF(a);
            a = NULL;
            PyErr_SetString(PyExc_TypeError, "a compiled call's arguments are not (args, kwargs)");
        }
        if (a == NULL) {
            error = take_exception();
            out = Py_BuildValue("(KOOOO)", (unsigned long long)tag, node, Py_None, error, Py_None);
            goto done;
        }
        PyObject *pargs = PyTuple_GET_ITEM(a, 0), *kw = PyTuple_GET_ITEM(a, 1);
        PyObject *targs = PyTuple_Check(pargs) ? (Py_INCREF(pargs), pargs) : PySequence_Tuple(pargs);
        if (targs == NULL) {
            Py_DECREF(a);
            goto fail;
        }
        ctx = Py_BuildValue("(KO)", (unsigned long long)tag, node);
        if (ctx == NULL || PyObject_SetAttr(rt, str_current_call, ctx) < 0) {
            Py_DECREF(targs);
            Py_DECREF(a);
            goto fail;
        }
        value = PyObject_Call(f.fn, targs, (kw != Py_None && PyDict_Check(kw) &&
                                           PyDict_GET_SIZE(kw)) ? kw : NULL);
        Py_DECREF(targs);
        Py_DECREF(a);
        if (value == NULL) {
            error = take_exception();
            if (PyObject_SetAttr(rt, str_current_call, Py_None) < 0)
                PyErr_Clear();
            out = Py_BuildValue("(KOOOO)", (unsigned long long)tag, node, Py_None, error, Py_False);
            goto done;
        }
        if (PyObject_SetAttr(rt, str_current_call, Py_None) < 0)
            goto fail;
        char *w = f.out_data + b * f.out_cap;
        uint64_t rsize = 0;
        /* A plain result is encoded straight into the out-slot (the record as
         * Slot.write_plain lays it out); else serialization.pickle_plain says what it is. */
        Py_ssize_t pn = load(&f.out_w[W_MOVED]) || f.out_cap < 32 ? 0
                        : encode_into(w + 24, w + f.out_cap, value);
        if (pn < 0)
            goto fail;
        if (pn > 0) {
            uint32_t one = 1;
            uint64_t zero64 = 0, d = PLAIN_FLAG | (uint64_t)pn;
            memcpy(w, &one, 4);
            memcpy(w + 4, &zero64, 4);
            memcpy(w + 8, &zero64, 8);
            memcpy(w + 16, &d, 8);
            rsize = 24 + (((uint64_t)pn + 7) & ~7ULL);
        } else if ((res = PyObject_CallOneArg(serialize, value)) == NULL) {
            goto fail;
        } else if (load(&f.out_w[W_MOVED])) {
            rsize = 0;
        } else if (PyBytes_Check(res)) {
            /* slots.Slot.write_plain: the record, its length, then the tag (publishes it). */
            uint64_t n = (uint64_t)PyBytes_GET_SIZE(res);
            rsize = 24 + ((n + 7) & ~7ULL);
            if (rsize > f.out_cap) {
                rsize = 0;
            } else {
                uint32_t one = 1;
                uint64_t zero64 = 0, d = PLAIN_FLAG | n;
                memcpy(w, &one, 4);
                memcpy(w + 4, &zero64, 4);
                memcpy(w + 8, &zero64, 8);
                memcpy(w + 16, &d, 8);
                memcpy(w + 24, PyBytes_AS_STRING(res), n);
            }
        } else if (res != Py_None) { /* a Frame: out-of-band buffers (a large array) */
            int64_t r = write_frame_record(w, f.out_cap, res);
            if (r < 0)
                goto fail;
            rsize = (uint64_t)r;
        }
        if (rsize == 0) { /* Python writes it (and grows the slot if need be) */
            out = Py_BuildValue("(KOOOO)", (unsigned long long)tag, node, value, Py_None, res);
            goto done;
        }
        store(&f.out_w[b * BUF_WORDS + W_NBYTES], rsize);
        store(&f.out_w[b * BUF_WORDS + W_TAG], tag);
        store(&f.in_w[W_DONE], tag);
        fence();
        /* channel.Channel.notify of each downstream actor, then notify_output of the driver
         * (compiled.output_key) */
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(f.consumers); i++) {
            PyObject *c = PyTuple_GET_ITEM(f.consumers, i);
            volatile uint64_t *ch;
            unsigned long long bell;
            if (!PyTuple_Check(c) || PyTuple_GET_SIZE(c) != 2 ||
                (ch = mem(PyTuple_GET_ITEM(c, 0), NULL)) == NULL)
                continue;
            bell = PyLong_AsUnsignedLongLong(PyTuple_GET_ITEM(c, 1));
            if (PyErr_Occurred())
                goto fail;
            if ((load(&ch[C_SLEEPING]) & ASLEEP_MASK) && sem_post((sem_t *)(uintptr_t)bell) < 0) {
                PyErr_SetFromErrno(PyExc_OSError);
                goto fail;
            }
        }
        uint64_t key = f.key_base | (tag & 0xFFFFF);
        if ((load(&drv[C_SLEEPING]) & ASLEEP_MASK) &&
            (load(&drv[C_AWAITED]) == 0 || load(&drv[C_AWAITED]) == key)) {
            if (sem_post(driver_bell) < 0) {
                PyErr_SetFromErrno(PyExc_OSError);
                goto fail;
            }
        }
        Py_XDECREF(res);
        Py_DECREF(value);
        Py_DECREF(ctx);
        Py_DECREF(node);
        Py_DECREF(f.fn);
        spin = 0.0;
        continue;

    fail:
        Py_XDECREF(res);
        Py_XDECREF(value);
        Py_XDECREF(ctx);
        Py_DECREF(node);
        Py_DECREF(f.fn);
        return NULL;
    done:
        Py_XDECREF(res);
        Py_XDECREF(value);
        Py_XDECREF(error);
        Py_XDECREF(ctx);
        Py_DECREF(node);
        Py_DECREF(f.fn);
        return out;
    }
}

/* ---- the driver's side ------------------------------------------------------------------- */

/* fire(in_mv, in_cap, tag, data, queue, gid, index, inbox, doorbell, early_mv, early_cap)
 *     -> 0, 1 or 2
 *
 * One compiled call whose arguments are one plain pickle (`data`, bytes): slots.Slot.
 * write_plain(tag, data), slots.TriggerQueue.push(gid, tag, index), then the wake-up of
 * compiled.CompiledGraph.trigger: the actor (its inbox header `inbox`, its doorbell handle) is
 * woken now, as Channel.notify does, if the actor woken early in this tag has written its
 * output (`early_mv`/`early_cap`: that actor's out-slot, or None if none was woken yet).
 * 0: nothing done (the record does not fit the slot, or the queue is full: Python's path then
 * handles it); 1: triggered, not woken (Python wakes it at the end of the round); 2: triggered
 * and woken. The caller has checked that the buffer owns no one-off segment.
 */
static PyObject *fire(PyObject *Py_UNUSED(self), PyObject *args)
{
    PyObject *in_mv, *queue_mv, *inbox_mv, *early_mv;
    unsigned long long cap, tag, gid, index, bell, early_cap;
    const char *data;
    Py_ssize_t n;
    if (!PyArg_ParseTuple(args, "OKKy#OKKOKOK", &in_mv, &cap, &tag, &data, &n, &queue_mv, &gid,
                          &index, &inbox_mv, &bell, &early_mv, &early_cap))
        return NULL;
    Py_ssize_t len = 0, qlen = 0;
    char *slot = mem(in_mv, &len);
    volatile uint64_t *q = mem(queue_mv, &qlen), *inbox = mem(inbox_mv, NULL);
    uint64_t size = 24 + (((uint64_t)n + 7) & ~7ULL);
    if (slot == NULL || q == NULL || inbox == NULL || size > cap ||
        (uint64_t)len < SLOT_HDR_BYTES + 2 * cap)
        return PyLong_FromLong(0);
    uint64_t capacity = ((uint64_t)qlen / 8 - Q_ENTRY) / 3, tail = load(&q[Q_TAIL]);
    if (tail - load(&q[Q_HEAD]) >= capacity)
        return PyLong_FromLong(0);
    volatile uint64_t *w = (volatile uint64_t *)slot;
    uint64_t b = tag & 1;
    char *rec = slot + SLOT_HDR_BYTES + b * cap;
    uint32_t one = 1, zero = 0;
    uint64_t zero64 = 0, d = PLAIN_FLAG | (uint64_t)n;
    memcpy(rec, &one, 4);
    memcpy(rec + 4, &zero, 4);
    memcpy(rec + 8, &zero64, 8);
    memcpy(rec + 16, &d, 8);
    memcpy(rec + 24, data, (size_t)n);
    store(&w[b * BUF_WORDS + W_NBYTES], size);
    store(&w[b * BUF_WORDS + W_TAG], tag); /* publish the record */
    volatile uint64_t *e = &q[Q_ENTRY + 3 * (tail % capacity)];
    e[0] = gid;
    e[1] = tag;
    e[2] = index;
    store(&q[Q_TAIL], tail + 1); /* publish the trigger */
    if (early_mv != Py_None) { /* slots.Slot.ready(tag) of the early actor's out-slot */
        Py_ssize_t elen = 0;
        volatile uint64_t *ew = mem(early_mv, &elen);
        if (ew == NULL || (uint64_t)elen < SLOT_HDR_BYTES + 2 * early_cap || load(&ew[W_MOVED]) ||
            load(&ew[b * BUF_WORDS + W_TAG]) != tag)
            return PyLong_FromLong(1); /* (moved: not known here; woken later, which is safe) */
    }
    fence(); /* Channel.notify: the trigger's store before the look at the sleeping word */
    if ((load(&inbox[C_SLEEPING]) & ASLEEP_MASK) && sem_post((sem_t *)(uintptr_t)bell) < 0)
        return PyErr_SetFromErrno(PyExc_OSError);
    return PyLong_FromLong(2);
}

/* read_output(mv, cap, tag) -> bytes or None
 *
 * slots.Slot.ready(tag) and read_plain(tag) in one: the record of `tag` if it is written,
 * is one plain pickle and carries no error; else None (not written yet, moved, or another
 * kind of record: Python's path tells which).
 */
static PyObject *read_output(PyObject *Py_UNUSED(self), PyObject *args)
{
    PyObject *mv, *out;
    unsigned long long cap, tag;
    if (!PyArg_ParseTuple(args, "OKK", &mv, &cap, &tag))
        return NULL;
    Py_ssize_t len;
    char *slot = mem(mv, &len);
    if (slot == NULL)
        Py_RETURN_NONE;
    if (plain_record(slot, len, cap, tag, &out) < 0)
        return NULL;
    if (out == NULL)
        Py_RETURN_NONE;
    return out;
}

static PyMethodDef methods[] = {
    {"run_reactions", run_reactions, METH_VARARGS,
     "Run an actor's compiled reactions until Python must look."},
    {"fire", fire, METH_VARARGS, "Write a plain in-slot record, push its trigger, wake the actor."},
    {"read_output", read_output, METH_VARARGS, "The plain record of a tag, if written."},
    {"encode", encode, METH_O, "The pickle of a plain value (bytes), or None if it is not plain."},
    {"plain_config", plain_config, METH_VARARGS, "The array type, dtype strings and extension code."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_compiled",
    "The hot paths of compiled execution in C (see compiled.py and slots.py).",
    -1, methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__compiled(void)
{
    str_fast = PyUnicode_InternFromString("fast");
    str_current_call = PyUnicode_InternFromString("current_call");
    str_meta = PyUnicode_InternFromString("meta");
    str_buffers = PyUnicode_InternFromString("buffers");
    str_refs = PyUnicode_InternFromString("refs");
    str_segment = PyUnicode_InternFromString("segment");
    str_dtype = PyUnicode_InternFromString("dtype");
    if (str_fast == NULL || str_current_call == NULL || str_meta == NULL || str_buffers == NULL ||
        str_refs == NULL || str_segment == NULL || str_dtype == NULL)
        return NULL;
    return PyModule_Create(&module);
}
