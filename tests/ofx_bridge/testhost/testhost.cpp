// vsae's own OpenFX test host: loads a bundle from $OFX_PLUGIN_PATH and drives one plug-in through describe,
// describe-in-context, create instance, parameter values, frames needed, region of definition, render and teardown,
// on float images read from raw files. It stands in for Resolve and Nuke in tests (no OFX host installs here).
//
// Usage: vsae-testhost SCRIPT. The script has one command per line, fields separated by tabs:
//   profile   resolve|nuke        resolve: unconnected optional clips report connected but give NULL images,
//                                 message suite v2 without persistent messages; nuke: float only, clean clips
//   plugin    IDENTIFIER
//   context   filter|general
//   rowbytes  positive|negative   layout of the images handed to the plug-in
//   clip      NAME PATTERN FIRST LAST WIDTH HEIGHT COMPONENTS   frames are raw float32, rows top down, PATTERN
//                                 a printf pattern of the frame number (/tmp/src.%04d.raw)
//   param     NAME VALUE
//   colourspace CLIP NAME         an OpenFX 1.5 colour-managed host: the clip's images are in colourspace NAME
//                                 (printed after clip preferences: what the plug-in asked for each clip, and the
//                                 output colourspace it declares)
//   abort     SECONDS             the host's abort() turns true this long after a render starts
//   scale     S                   render scale (a proxy render): the clip files hold the scaled images, the
//                                 canonical region of definition is their size / S
//   render    TIME OUTPUT         OUTPUT gets the rendered region of definition, float32 RGBA rows top down;
//                                 the event line gives the render action's wall time
//   threads   OUTPUT_PATTERN TIME...   renders those times at once, one host thread each
// It prints one line per event (plugins, describe, clips, params, frames_needed, rod, render, message) and, at the
// end, the images the plug-in fetched and never released: `images_outstanding N`.

#include <dirent.h>
#include <dlfcn.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "vsae_ofx_api.h"

namespace {

std::mutex gPrintMutex;
void say(const std::string &line) {
  std::lock_guard<std::mutex> lock(gPrintMutex);
  fprintf(stdout, "%s\n", line.c_str());
  fflush(stdout);
}

// ---- properties ---------------------------------------------------------------------------------------------------
struct Property {
  char type = 0;  // 'p' pointer, 's' string, 'd' double, 'i' int
  std::vector<void *> p;
  std::vector<std::shared_ptr<std::string>> s;  // shared_ptr: returned char * stay valid as the vector grows
  std::vector<double> d;
  std::vector<int> i;
  size_t size() const { return type == 'p' ? p.size() : type == 's' ? s.size() : type == 'd' ? d.size() : i.size(); }
};

struct PropertySet {
  std::recursive_mutex mutex;
  std::map<std::string, Property> props;
};

PropertySet *ps(OfxPropertySetHandle h) { return reinterpret_cast<PropertySet *>(h); }
OfxPropertySetHandle handleOf(PropertySet *p) { return reinterpret_cast<OfxPropertySetHandle>(p); }

template <typename T>
void grow(std::vector<T> &v, int index, T fill) {
  if (static_cast<int>(v.size()) <= index) v.resize(index + 1, fill);
}

Property &slot(PropertySet *set, const char *name, char type) {
  Property &p = set->props[name];
  if (p.type != type) {
    p = Property();
    p.type = type;
  }
  return p;
}

OfxStatus propSetPointer(OfxPropertySetHandle h, const char *n, int idx, void *v) {
  if (!h || idx < 0) return kOfxStatErrBadHandle;
  std::lock_guard<std::recursive_mutex> l(ps(h)->mutex);
  Property &p = slot(ps(h), n, 'p');
  grow(p.p, idx, static_cast<void *>(nullptr));
  p.p[idx] = v;
  return kOfxStatOK;
}
OfxStatus propSetString(OfxPropertySetHandle h, const char *n, int idx, const char *v) {
  if (!h || idx < 0) return kOfxStatErrBadHandle;
  std::lock_guard<std::recursive_mutex> l(ps(h)->mutex);
  Property &p = slot(ps(h), n, 's');
  while (static_cast<int>(p.s.size()) <= idx) p.s.push_back(std::make_shared<std::string>());
  p.s[idx] = std::make_shared<std::string>(v ? v : "");
  return kOfxStatOK;
}
OfxStatus propSetDouble(OfxPropertySetHandle h, const char *n, int idx, double v) {
  if (!h || idx < 0) return kOfxStatErrBadHandle;
  std::lock_guard<std::recursive_mutex> l(ps(h)->mutex);
  Property &p = slot(ps(h), n, 'd');
  grow(p.d, idx, 0.0);
  p.d[idx] = v;
  return kOfxStatOK;
}
OfxStatus propSetInt(OfxPropertySetHandle h, const char *n, int idx, int v) {
  if (!h || idx < 0) return kOfxStatErrBadHandle;
  std::lock_guard<std::recursive_mutex> l(ps(h)->mutex);
  Property &p = slot(ps(h), n, 'i');
  grow(p.i, idx, 0);
  p.i[idx] = v;
  return kOfxStatOK;
}

const Property *lookup(OfxPropertySetHandle h, const char *n, int idx) {
  if (!h) return nullptr;
  auto it = ps(h)->props.find(n);
  if (it == ps(h)->props.end() || idx < 0 || idx >= static_cast<int>(it->second.size())) return nullptr;
  return &it->second;
}

OfxStatus propGetPointer(OfxPropertySetHandle h, const char *n, int idx, void **v) {
  if (!h) return kOfxStatErrBadHandle;
  std::lock_guard<std::recursive_mutex> l(ps(h)->mutex);
  const Property *p = lookup(h, n, idx);
  if (!p || p->type != 'p') return kOfxStatErrUnknown;
  *v = p->p[idx];
  return kOfxStatOK;
}
OfxStatus propGetString(OfxPropertySetHandle h, const char *n, int idx, char **v) {
  if (!h) return kOfxStatErrBadHandle;
  std::lock_guard<std::recursive_mutex> l(ps(h)->mutex);
  const Property *p = lookup(h, n, idx);
  if (!p || p->type != 's') return kOfxStatErrUnknown;
  *v = const_cast<char *>(p->s[idx]->c_str());
  return kOfxStatOK;
}
OfxStatus propGetDouble(OfxPropertySetHandle h, const char *n, int idx, double *v) {
  if (!h) return kOfxStatErrBadHandle;
  std::lock_guard<std::recursive_mutex> l(ps(h)->mutex);
  const Property *p = lookup(h, n, idx);
  if (!p || (p->type != 'd' && p->type != 'i')) return kOfxStatErrUnknown;
  *v = p->type == 'd' ? p->d[idx] : p->i[idx];
  return kOfxStatOK;
}
OfxStatus propGetInt(OfxPropertySetHandle h, const char *n, int idx, int *v) {
  if (!h) return kOfxStatErrBadHandle;
  std::lock_guard<std::recursive_mutex> l(ps(h)->mutex);
  const Property *p = lookup(h, n, idx);
  if (!p || (p->type != 'd' && p->type != 'i')) return kOfxStatErrUnknown;
  *v = p->type == 'i' ? p->i[idx] : static_cast<int>(p->d[idx]);
  return kOfxStatOK;
}
// The N variants: one call per index, stopping at the first failure.
template <typename T, OfxStatus (*Set)(OfxPropertySetHandle, const char *, int, T)>
OfxStatus setN(OfxPropertySetHandle h, const char *n, int count, const T *v) {
  for (int k = 0; k < count; ++k)
    if (OfxStatus st = Set(h, n, k, v[k])) return st;
  return kOfxStatOK;
}
template <typename T, OfxStatus (*Get)(OfxPropertySetHandle, const char *, int, T *)>
OfxStatus getN(OfxPropertySetHandle h, const char *n, int count, T *v) {
  for (int k = 0; k < count; ++k)
    if (OfxStatus st = Get(h, n, k, &v[k])) return st;
  return kOfxStatOK;
}

OfxStatus propReset(OfxPropertySetHandle h, const char *n) {
  if (!h) return kOfxStatErrBadHandle;
  std::lock_guard<std::recursive_mutex> l(ps(h)->mutex);
  ps(h)->props.erase(n);
  return kOfxStatOK;
}
OfxStatus propGetDimension(OfxPropertySetHandle h, const char *n, int *count) {
  if (!h) return kOfxStatErrBadHandle;
  std::lock_guard<std::recursive_mutex> l(ps(h)->mutex);
  auto it = ps(h)->props.find(n);
  *count = it == ps(h)->props.end() ? 0 : static_cast<int>(it->second.size());
  return kOfxStatOK;
}

const OfxPropertySuiteV1 kPropertySuite = {propSetPointer,
                                           propSetString,
                                           propSetDouble,
                                           propSetInt,
                                           setN<void *, propSetPointer>,
                                           setN<const char *, propSetString>,
                                           setN<double, propSetDouble>,
                                           setN<int, propSetInt>,
                                           propGetPointer,
                                           propGetString,
                                           propGetDouble,
                                           propGetInt,
                                           getN<void *, propGetPointer>,
                                           getN<char *, propGetString>,
                                           getN<double, propGetDouble>,
                                           getN<int, propGetInt>,
                                           propReset,
                                           propGetDimension};

std::string getString(PropertySet &set, const char *name, int idx = 0) {
  char *v = nullptr;
  return propGetString(handleOf(&set), name, idx, &v) == kOfxStatOK && v ? v : "";
}
int getInt(PropertySet &set, const char *name, int fallback = 0) {
  int v = fallback;
  propGetInt(handleOf(&set), name, 0, &v);
  return v;
}

// ---- parameters ---------------------------------------------------------------------------------------------------
struct Param {
  std::string type, name;
  PropertySet props;
  double d = 0;
  int i = 0;
  std::string s;
};

struct ParamSet {
  std::map<std::string, std::unique_ptr<Param>> params;
  std::vector<std::string> order;
  PropertySet props;
};

Param *param(OfxParamHandle h) { return reinterpret_cast<Param *>(h); }
ParamSet *paramSet(OfxParamSetHandle h) { return reinterpret_cast<ParamSet *>(h); }

OfxStatus paramDefine(OfxParamSetHandle set, const char *type, const char *name, OfxPropertySetHandle *props) {
  if (!set || !type || !name) return kOfxStatErrBadHandle;
  auto &slotp = paramSet(set)->params[name];
  if (slotp) return kOfxStatErrExists;
  slotp.reset(new Param);
  slotp->type = type;
  slotp->name = name;
  propSetString(handleOf(&slotp->props), kOfxParamPropType, 0, type);
  paramSet(set)->order.push_back(name);
  if (props) *props = handleOf(&slotp->props);
  return kOfxStatOK;
}
OfxStatus paramGetHandle(OfxParamSetHandle set, const char *name, OfxParamHandle *h, OfxPropertySetHandle *props) {
  if (!set) return kOfxStatErrBadHandle;
  auto it = paramSet(set)->params.find(name);
  if (it == paramSet(set)->params.end()) return kOfxStatErrUnknown;
  *h = reinterpret_cast<OfxParamHandle>(it->second.get());
  if (props) *props = handleOf(&it->second->props);
  return kOfxStatOK;
}
OfxStatus paramSetGetPropertySet(OfxParamSetHandle set, OfxPropertySetHandle *props) {
  if (!set) return kOfxStatErrBadHandle;
  *props = handleOf(&paramSet(set)->props);
  return kOfxStatOK;
}
OfxStatus paramGetPropertySet(OfxParamHandle h, OfxPropertySetHandle *props) {
  if (!h) return kOfxStatErrBadHandle;
  *props = handleOf(&param(h)->props);
  return kOfxStatOK;
}
OfxStatus readValue(Param *p, va_list ap) {
  if (p->type == kOfxParamTypeDouble) *va_arg(ap, double *) = p->d;
  else if (p->type == kOfxParamTypeString) *va_arg(ap, const char **) = p->s.c_str();
  else *va_arg(ap, int *) = p->i;
  return kOfxStatOK;
}
OfxStatus paramGetValue(OfxParamHandle h, ...) {
  if (!h) return kOfxStatErrBadHandle;
  va_list ap;
  va_start(ap, h);
  OfxStatus st = readValue(param(h), ap);
  va_end(ap);
  return st;
}
OfxStatus paramGetValueAtTime(OfxParamHandle h, OfxTime time, ...) {
  if (!h) return kOfxStatErrBadHandle;
  va_list ap;
  va_start(ap, time);
  OfxStatus st = readValue(param(h), ap);  // the test host's parameters do not animate
  va_end(ap);
  return st;
}
OfxStatus paramUnsupportedTime(OfxParamHandle, OfxTime, ...) { return kOfxStatErrUnsupported; }
OfxStatus paramUnsupportedIntegral(OfxParamHandle, OfxTime, OfxTime, ...) { return kOfxStatErrUnsupported; }
OfxStatus writeValue(Param *p, va_list ap) {
  if (p->type == kOfxParamTypeDouble) p->d = va_arg(ap, double);
  else if (p->type == kOfxParamTypeString) {
    const char *v = va_arg(ap, const char *);
    p->s = v ? v : "";
  } else p->i = va_arg(ap, int);
  return kOfxStatOK;
}
OfxStatus paramSetValue(OfxParamHandle h, ...) {
  if (!h) return kOfxStatErrBadHandle;
  va_list ap;
  va_start(ap, h);
  OfxStatus st = writeValue(param(h), ap);
  va_end(ap);
  return st;
}
OfxStatus paramSetValueAtTime(OfxParamHandle h, OfxTime time, ...) {
  if (!h) return kOfxStatErrBadHandle;
  va_list ap;
  va_start(ap, time);
  OfxStatus st = writeValue(param(h), ap);
  va_end(ap);
  return st;
}
OfxStatus paramGetNumKeys(OfxParamHandle, unsigned int *n) {
  *n = 0;
  return kOfxStatOK;
}
OfxStatus paramGetKeyTime(OfxParamHandle, unsigned int, OfxTime *) { return kOfxStatErrBadIndex; }
OfxStatus paramGetKeyIndex(OfxParamHandle, OfxTime, int, int *) { return kOfxStatFailed; }
OfxStatus paramDeleteKey(OfxParamHandle, OfxTime) { return kOfxStatErrBadIndex; }
OfxStatus paramDeleteAllKeys(OfxParamHandle) { return kOfxStatOK; }
OfxStatus paramCopy(OfxParamHandle, OfxParamHandle, OfxTime, const OfxRangeD *) { return kOfxStatOK; }
OfxStatus paramEditBegin(OfxParamSetHandle, const char *) { return kOfxStatOK; }
OfxStatus paramEditEnd(OfxParamSetHandle) { return kOfxStatOK; }

const OfxParameterSuiteV1 kParameterSuite = {
    paramDefine, paramGetHandle, paramSetGetPropertySet, paramGetPropertySet, paramGetValue, paramGetValueAtTime,
    paramUnsupportedTime, paramUnsupportedIntegral, paramSetValue, paramSetValueAtTime, paramGetNumKeys,
    paramGetKeyTime, paramGetKeyIndex, paramDeleteKey, paramDeleteAllKeys, paramCopy, paramEditBegin, paramEditEnd};

// ---- clips, images, effects ---------------------------------------------------------------------------------------
struct Options {
  std::string profile = "nuke";
  bool negativeRowBytes = false;
  double abortAfter = -1;
  double scale = 1.0;
  std::map<std::string, std::string> colourspaces;  // clip -> its colourspace (a colour-managed host)
};
Options gOptions;
std::atomic<int> gImagesOut{0};

struct ClipSource {
  std::string pattern;
  int first = 0, last = -1, width = 0, height = 0, components = 4;
};

struct Image : PropertySet {  // the image's handle is its property set
  std::shared_ptr<const std::vector<float>> owned;  // a source frame's pixels (output images use the render's)
};

struct RenderTarget {
  std::vector<float> pixels;  // float RGBA rows bottom up
  OfxRectI bounds{0, 0, 0, 0};
};
thread_local RenderTarget *tTarget = nullptr;
thread_local std::chrono::steady_clock::time_point tRenderStart;

struct Effect;
struct Clip {
  std::string name;
  PropertySet props;
  Effect *owner = nullptr;
  bool hasSource = false;
  ClipSource source;
  std::mutex cacheMutex;  // frames are read from disk once, like a host's frame cache
  std::map<int, std::shared_ptr<const std::vector<float>>> cache;
};

// The frame's pixels as the plug-in sees them (rows bottom up unless row bytes are negative); nullptr if unreadable.
std::shared_ptr<const std::vector<float>> loadFrame(Clip &c, int frame) {
  std::lock_guard<std::mutex> lock(c.cacheMutex);
  auto it = c.cache.find(frame);
  if (it != c.cache.end()) return it->second;
  const ClipSource &s = c.source;
  char path[4096];
  snprintf(path, sizeof path, s.pattern.c_str(), frame);
  const size_t row = static_cast<size_t>(s.width) * s.components, count = row * s.height;
  auto pixels = std::make_shared<std::vector<float>>(count);
  std::ifstream in(path, std::ios::binary);
  in.read(reinterpret_cast<char *>(pixels->data()), static_cast<std::streamsize>(count * sizeof(float)));
  if (!in) {
    say(std::string("host_error cannot read ") + path);
    return nullptr;
  }
  if (!gOptions.negativeRowBytes) {
    auto flipped = std::make_shared<std::vector<float>>(count);
    for (int y = 0; y < s.height; ++y)
      memcpy(&(*flipped)[row * y], &(*pixels)[row * (s.height - 1 - y)], row * sizeof(float));
    pixels = flipped;
  }
  c.cache[frame] = pixels;
  return pixels;
}

struct Effect {
  PropertySet props;
  ParamSet params;
  std::map<std::string, std::unique_ptr<Clip>> clips;
  std::vector<std::string> clipOrder;
};

Effect *effect(OfxImageEffectHandle h) { return reinterpret_cast<Effect *>(h); }

OfxStatus getPropertySet(OfxImageEffectHandle h, OfxPropertySetHandle *props) {
  if (!h) return kOfxStatErrBadHandle;
  *props = handleOf(&effect(h)->props);
  return kOfxStatOK;
}
OfxStatus getParamSet(OfxImageEffectHandle h, OfxParamSetHandle *set) {
  if (!h) return kOfxStatErrBadHandle;
  *set = reinterpret_cast<OfxParamSetHandle>(&effect(h)->params);
  return kOfxStatOK;
}
OfxStatus clipDefine(OfxImageEffectHandle h, const char *name, OfxPropertySetHandle *props) {
  if (!h || !name) return kOfxStatErrBadHandle;
  auto &c = effect(h)->clips[name];
  if (!c) {
    c.reset(new Clip);
    c->name = name;
    c->owner = effect(h);
    effect(h)->clipOrder.push_back(name);
    propSetString(handleOf(&c->props), kOfxPropName, 0, name);
  }
  if (props) *props = handleOf(&c->props);
  return kOfxStatOK;
}
OfxStatus clipGetHandle(OfxImageEffectHandle h, const char *name, OfxImageClipHandle *clip,
                        OfxPropertySetHandle *props) {
  if (!h || !name) return kOfxStatErrBadHandle;
  auto it = effect(h)->clips.find(name);
  if (it == effect(h)->clips.end()) return kOfxStatErrUnknown;
  *clip = reinterpret_cast<OfxImageClipHandle>(it->second.get());
  if (props) *props = handleOf(&it->second->props);
  return kOfxStatOK;
}
Clip *clipOf(OfxImageClipHandle h) { return reinterpret_cast<Clip *>(h); }
OfxStatus clipGetPropertySet(OfxImageClipHandle h, OfxPropertySetHandle *props) {
  if (!h) return kOfxStatErrBadHandle;
  *props = handleOf(&clipOf(h)->props);
  return kOfxStatOK;
}

void setImageProps(Image *img, void *data, OfxRectI b, int rowBytes, const char *components) {
  OfxPropertySetHandle p = handleOf(img);
  propSetPointer(p, kOfxImagePropData, 0, data);
  setN<int, propSetInt>(p, kOfxImagePropBounds, 4, &b.x1);
  propSetInt(p, kOfxImagePropRowBytes, 0, rowBytes);
  propSetString(p, kOfxImageEffectPropComponents, 0, components);
  propSetString(p, kOfxImageEffectPropPixelDepth, 0, kOfxBitDepthFloat);
  propSetString(p, kOfxImageEffectPropPreMultiplication, 0, kOfxImagePreMultiplied);
}

const char *componentsName(int n) {
  return n == 4 ? kOfxImageComponentRGBA : n == 3 ? kOfxImageComponentRGB : kOfxImageComponentAlpha;
}

OfxStatus clipGetImage(OfxImageClipHandle h, OfxTime time, const OfxRectD *, OfxPropertySetHandle *out) {
  if (!h || !out) return kOfxStatErrBadHandle;
  *out = nullptr;
  Clip *c = clipOf(h);
  if (c->name == kOfxImageEffectOutputClipName) {
    if (!tTarget) return kOfxStatFailed;
    Image *img = new Image;
    const int w = tTarget->bounds.x2 - tTarget->bounds.x1;
    setImageProps(img, tTarget->pixels.data(), tTarget->bounds, w * 4 * static_cast<int>(sizeof(float)),
                  kOfxImageComponentRGBA);
    ++gImagesOut;
    *out = handleOf(img);
    return kOfxStatOK;
  }
  if (!c->hasSource) return kOfxStatFailed;  // unconnected: Resolve says connected and still gives NULL here
  const int frame = static_cast<int>(time + (time >= 0 ? 0.5 : -0.5));
  const ClipSource &s = c->source;
  if (frame < s.first || frame > s.last) return kOfxStatFailed;
  std::shared_ptr<const std::vector<float>> pixels = loadFrame(*c, frame);
  if (!pixels) return kOfxStatFailed;
  const size_t row = static_cast<size_t>(s.width) * s.components;
  const int rowBytes = static_cast<int>(row * sizeof(float));
  Image *img = new Image;
  img->owned = pixels;
  float *base = const_cast<float *>(pixels->data());
  // Negative: the file's top-down rows addressed from the bottom row backwards; positive: rows stored bottom up.
  void *data = gOptions.negativeRowBytes ? base + row * (s.height - 1) : base;
  const int stride = gOptions.negativeRowBytes ? -rowBytes : rowBytes;
  setImageProps(img, data, OfxRectI{0, 0, s.width, s.height}, stride, componentsName(s.components));
  ++gImagesOut;
  *out = handleOf(img);
  return kOfxStatOK;
}
OfxStatus clipReleaseImage(OfxPropertySetHandle h) {
  if (!h) return kOfxStatErrBadHandle;
  delete static_cast<Image *>(ps(h));
  --gImagesOut;
  return kOfxStatOK;
}
OfxStatus clipGetRegionOfDefinition(OfxImageClipHandle h, OfxTime, OfxRectD *bounds) {
  if (!h) return kOfxStatErrBadHandle;
  Clip *c = clipOf(h);
  if (!c->hasSource) {  // an unconnected clip: the main source's area, as hosts do for the output
    auto it = c->owner->clips.find(kOfxImageEffectSimpleSourceClipName);
    if (it == c->owner->clips.end() || !it->second->hasSource) return kOfxStatFailed;
    c = it->second.get();
  }
  *bounds = OfxRectD{0, 0, c->source.width / gOptions.scale, c->source.height / gOptions.scale};
  return kOfxStatOK;
}
int abortFn(OfxImageEffectHandle) {
  if (gOptions.abortAfter < 0) return 0;
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - tRenderStart).count() > gOptions.abortAfter;
}
OfxStatus imageMemoryAlloc(OfxImageEffectHandle, size_t n, OfxImageMemoryHandle *h) {
  *h = reinterpret_cast<OfxImageMemoryHandle>(malloc(n));
  return *h ? kOfxStatOK : kOfxStatErrMemory;
}
OfxStatus imageMemoryFree(OfxImageMemoryHandle h) {
  free(h);
  return kOfxStatOK;
}
OfxStatus imageMemoryLock(OfxImageMemoryHandle h, void **p) {
  *p = h;
  return kOfxStatOK;
}
OfxStatus imageMemoryUnlock(OfxImageMemoryHandle) { return kOfxStatOK; }

const OfxImageEffectSuiteV1 kImageEffectSuite = {
    getPropertySet, getParamSet, clipDefine, clipGetHandle, clipGetPropertySet, clipGetImage, clipReleaseImage,
    clipGetRegionOfDefinition, abortFn, imageMemoryAlloc, imageMemoryFree, imageMemoryLock, imageMemoryUnlock};

// ---- memory, threads, messages ------------------------------------------------------------------------------------
OfxStatus memoryAlloc(void *, size_t n, void **p) {
  *p = malloc(n);
  return *p ? kOfxStatOK : kOfxStatErrMemory;
}
OfxStatus memoryFree(void *p) {
  free(p);
  return kOfxStatOK;
}
const OfxMemorySuiteV1 kMemorySuite = {memoryAlloc, memoryFree};

thread_local unsigned tThreadIndex = 0;
thread_local bool tSpawned = false;
OfxStatus multiThread(OfxThreadFunctionV1 func, unsigned n, void *arg) {
  std::vector<std::thread> threads;
  for (unsigned k = 0; k < n; ++k)
    threads.emplace_back([=] {
      tThreadIndex = k;
      tSpawned = true;
      func(k, n, arg);
    });
  for (auto &t : threads) t.join();
  return kOfxStatOK;
}
OfxStatus multiThreadNumCPUs(unsigned *n) {
  *n = std::max(1u, std::thread::hardware_concurrency());
  return kOfxStatOK;
}
OfxStatus multiThreadIndex(unsigned *i) {
  *i = tThreadIndex;
  return kOfxStatOK;
}
int multiThreadIsSpawnedThread() { return tSpawned; }
OfxStatus mutexCreate(OfxMutexHandle *m, int) {
  *m = reinterpret_cast<OfxMutexHandle>(new std::recursive_mutex);
  return kOfxStatOK;
}
std::recursive_mutex *mx(OfxMutexHandle m) { return reinterpret_cast<std::recursive_mutex *>(m); }
OfxStatus mutexDestroy(const OfxMutexHandle m) {
  delete mx(m);
  return kOfxStatOK;
}
OfxStatus mutexLock(const OfxMutexHandle m) {
  mx(m)->lock();
  return kOfxStatOK;
}
OfxStatus mutexUnLock(const OfxMutexHandle m) {
  mx(m)->unlock();
  return kOfxStatOK;
}
OfxStatus mutexTryLock(const OfxMutexHandle m) { return mx(m)->try_lock() ? kOfxStatOK : kOfxStatFailed; }
const OfxMultiThreadSuiteV1 kMultiThreadSuite = {multiThread, multiThreadNumCPUs, multiThreadIndex,
                                                 multiThreadIsSpawnedThread, mutexCreate, mutexDestroy,
                                                 mutexLock, mutexUnLock, mutexTryLock};

void printMessage(const char *kind, const char *type, const char *format, va_list ap) {
  char buf[4096];
  vsnprintf(buf, sizeof buf, format ? format : "", ap);
  say(std::string(kind) + " " + (type ? type : "?") + " " + buf);
}
OfxStatus message(void *, const char *type, const char *, const char *format, ...) {
  va_list ap;
  va_start(ap, format);
  printMessage("message", type, format, ap);
  va_end(ap);
  return kOfxStatOK;
}
OfxStatus persistentMessage(void *, const char *type, const char *, const char *format, ...) {
  va_list ap;
  va_start(ap, format);
  printMessage("message", type, format, ap);
  va_end(ap);
  return kOfxStatOK;
}
OfxStatus clearPersistentMessage(void *) { return kOfxStatOK; }
const OfxMessageSuiteV1 kMessageSuite1 = {message};
const OfxMessageSuiteV2 kMessageSuite2Full = {message, persistentMessage, clearPersistentMessage};
const OfxMessageSuiteV2 kMessageSuite2Resolve = {message, nullptr, nullptr};  // as some Resolve versions hand out

PropertySet gHostProps;
const void *fetchSuite(OfxPropertySetHandle, const char *name, int version) {
  const std::string n = name ? name : "";
  if (n == kOfxPropertySuite && version == 1) return &kPropertySuite;
  if (n == kOfxImageEffectSuite && version == 1) return &kImageEffectSuite;
  if (n == kOfxParameterSuite && version == 1) return &kParameterSuite;
  if (n == kOfxMemorySuite && version == 1) return &kMemorySuite;
  if (n == kOfxMultiThreadSuite && version == 1) return &kMultiThreadSuite;
  if (n == kOfxMessageSuite && version == 1) return &kMessageSuite1;
  if (n == kOfxMessageSuite && version == 2)
    return gOptions.profile == "resolve" ? &kMessageSuite2Resolve : &kMessageSuite2Full;
  return nullptr;
}
OfxHost gHost = {handleOf(&gHostProps), fetchSuite};

// ---- driving a plug-in --------------------------------------------------------------------------------------------
std::vector<std::string> split(const std::string &line) {
  std::vector<std::string> out;
  std::stringstream ss(line);
  std::string f;
  while (std::getline(ss, f, '\t')) out.push_back(f);
  return out;
}

OfxPlugin *findPlugin(const std::string &id, void **library) {
  const char *env = getenv("OFX_PLUGIN_PATH");
  std::stringstream paths(env ? env : "");
  std::string dir;
  while (std::getline(paths, dir, ':')) {
    if (dir.empty()) continue;
    DIR *d = opendir(dir.c_str());
    if (!d) continue;
    while (dirent *e = readdir(d)) {
      std::string name = e->d_name;
      const std::string suffix = ".ofx.bundle";
      if (name[0] == '@' || name.size() <= suffix.size() ||
          name.compare(name.size() - suffix.size(), suffix.size(), suffix))
        continue;
      std::string stem = name.substr(0, name.size() - suffix.size());
      std::string binary = dir + "/" + name + "/Contents/Linux-x86-64/" + stem + ".ofx";
      void *lib = dlopen(binary.c_str(), RTLD_NOW | RTLD_LOCAL);
      if (!lib) {
        say(std::string("host_error dlopen ") + dlerror());
        continue;
      }
      auto count = reinterpret_cast<int (*)()>(dlsym(lib, "OfxGetNumberOfPlugins"));
      auto get = reinterpret_cast<OfxPlugin *(*)(int)>(dlsym(lib, "OfxGetPlugin"));
      if (count && get) {
        say("plugins " + std::to_string(count()));
        for (int i = 0; i < count(); ++i) {
          OfxPlugin *p = get(i);
          if (p && id == p->pluginIdentifier && std::string(p->pluginApi) == kOfxImageEffectPluginApi &&
              p->apiVersion == 1) {
            closedir(d);
            *library = lib;
            return p;
          }
        }
      }
      dlclose(lib);
    }
    closedir(d);
  }
  return nullptr;
}

struct Session {
  OfxPlugin *plugin = nullptr;
  Effect descriptor, contextDescriptor, instance;
  std::string context = kOfxImageEffectContextFilter;
  std::map<std::string, ClipSource> sources;
  std::vector<std::pair<std::string, std::string>> values;
  bool temporal = false;

  OfxStatus call(const char *action, Effect *e, PropertySet *in, PropertySet *out) {
    return plugin->mainEntry(action, e, in ? handleOf(in) : nullptr, out ? handleOf(out) : nullptr);
  }

  bool setUp() {
    plugin->setHost(&gHost);
    if (OfxStatus st = call(kOfxActionLoad, nullptr, nullptr, nullptr)) {
      say("load failed " + std::to_string(st));
      return false;
    }
    if (OfxStatus st = call(kOfxActionDescribe, &descriptor, nullptr, nullptr)) {
      say("describe failed " + std::to_string(st));
      return false;
    }
    std::string contexts;
    int n = 0;
    propGetDimension(handleOf(&descriptor.props), kOfxImageEffectPropSupportedContexts, &n);
    for (int i = 0; i < n; ++i)
      contexts += (i ? "," : "") + getString(descriptor.props, kOfxImageEffectPropSupportedContexts, i);
    temporal = getInt(descriptor.props, kOfxImageEffectPropTemporalClipAccess) != 0;
    say("describe label=" + getString(descriptor.props, kOfxPropLabel) + " contexts=" + contexts +
        " temporal=" + std::to_string(temporal) + " tiles=" +
        std::to_string(getInt(descriptor.props, kOfxImageEffectPropSupportsTiles, 1)));
    if (contexts.find(context) == std::string::npos) {
      say("context_unsupported " + context);
      return false;
    }
    PropertySet in;
    propSetString(handleOf(&in), kOfxImageEffectPropContext, 0, context.c_str());
    if (OfxStatus st = call(kOfxImageEffectActionDescribeInContext, &contextDescriptor, &in, nullptr)) {
      say("describe_in_context failed " + std::to_string(st));
      return false;
    }
    std::string clips;
    for (auto &name : contextDescriptor.clipOrder) clips += (clips.empty() ? "" : ",") + name;
    say("clips " + clips);
    say("params " + std::to_string(contextDescriptor.params.order.size()));
    // The instance: clips and params copied from the context's descriptor, values set to defaults then the script's.
    propSetString(handleOf(&instance.props), kOfxImageEffectPropContext, 0, context.c_str());
    for (auto &name : contextDescriptor.clipOrder) {
      Clip &def = *contextDescriptor.clips[name];
      OfxPropertySetHandle props = nullptr;
      clipDefine(reinterpret_cast<OfxImageEffectHandle>(&instance), name.c_str(), &props);
      Clip &c = *instance.clips[name];
      c.props.props = def.props.props;
      auto it = sources.find(name);
      c.hasSource = it != sources.end();
      if (c.hasSource) c.source = it->second;
      const bool optional = getInt(def.props, kOfxImageClipPropOptional) != 0;
      const bool output = name == kOfxImageEffectOutputClipName;
      // Resolve reports unconnected optional clips as connected (and gives NULL images for them).
      const bool connected = output || c.hasSource || (optional && gOptions.profile == "resolve");
      propSetInt(props, kOfxImageClipPropConnected, 0, connected ? 1 : 0);
      const ClipSource &range = sources.count(kOfxImageEffectSimpleSourceClipName)
                                    ? sources[kOfxImageEffectSimpleSourceClipName] : c.source;
      double fr[2] = {static_cast<double>(c.hasSource ? c.source.first : range.first),
                      static_cast<double>(c.hasSource ? c.source.last : range.last)};
      setN<double, propSetDouble>(props, kOfxImageEffectPropFrameRange, 2, fr);
      propSetString(props, kOfxImageEffectPropPixelDepth, 0, kOfxBitDepthFloat);
      propSetString(props, kOfxImageEffectPropComponents, 0,
                    output ? kOfxImageComponentRGBA : componentsName(c.hasSource ? c.source.components : 4));
      propSetString(props, kOfxImageEffectPropPreMultiplication, 0, kOfxImagePreMultiplied);
      auto space = gOptions.colourspaces.find(name);
      if (space != gOptions.colourspaces.end())
        propSetString(props, kOfxImageClipPropColourspace, 0, space->second.c_str());
    }
    for (auto &name : contextDescriptor.params.order) {
      Param &def = *contextDescriptor.params.params[name];
      OfxPropertySetHandle props = nullptr;
      paramDefine(reinterpret_cast<OfxParamSetHandle>(&instance.params), def.type.c_str(), name.c_str(), &props);
      Param &p = *instance.params.params[name];
      p.props.props = def.props.props;
      if (def.type == kOfxParamTypeDouble) propGetDouble(handleOf(&p.props), kOfxParamPropDefault, 0, &p.d);
      else if (def.type == kOfxParamTypeString) p.s = getString(p.props, kOfxParamPropDefault);
      else propGetInt(handleOf(&p.props), kOfxParamPropDefault, 0, &p.i);
    }
    for (auto &kv : values) {
      auto it = instance.params.params.find(kv.first);
      if (it == instance.params.params.end()) {
        say("host_error no parameter " + kv.first);
        return false;
      }
      Param &p = *it->second;
      if (p.type == kOfxParamTypeDouble) p.d = atof(kv.second.c_str());
      else if (p.type == kOfxParamTypeString) p.s = kv.second;
      else if (p.type == kOfxParamTypeChoice) {
        int n = 0;
        propGetDimension(handleOf(&p.props), kOfxParamPropChoiceOption, &n);
        p.i = -1;
        for (int i = 0; i < n; ++i)
          if (getString(p.props, kOfxParamPropChoiceOption, i) == kv.second) p.i = i;
        if (p.i < 0) {
          say("host_error no option " + kv.second + " of " + kv.first);
          return false;
        }
      } else p.i = atoi(kv.second.c_str());
    }
    if (OfxStatus st = call(kOfxActionCreateInstance, &instance, nullptr, nullptr)) {
      say("create_instance failed " + std::to_string(st));
      return false;
    }
    PropertySet prefs, domain;
    call(kOfxImageEffectActionGetClipPreferences, &instance, nullptr, &prefs);
    if (context == kOfxImageEffectContextGeneral) {
      double range[2] = {0, 0};
      OfxStatus st = call(kOfxImageEffectActionGetTimeDomain, &instance, nullptr, &domain);
      getN<double, propGetDouble>(handleOf(&domain), kOfxImageEffectPropFrameRange, 2, range);
      say("time_domain status " + std::to_string(st) + " " + std::to_string(static_cast<int>(range[0])) + " " +
          std::to_string(static_cast<int>(range[1])));
    }
    say("output_components " + getString(prefs, "OfxImageClipPropComponents_Output"));
    if (!gOptions.colourspaces.empty()) {  // what a colour-managed host would read back from the plug-in
      for (auto &name : contextDescriptor.clipOrder) {
        const std::string key = std::string(kVsaePreferredColourspacesPrefix) + name;
        int n = 0;
        propGetDimension(handleOf(&prefs), key.c_str(), &n);
        std::string list;
        for (int i = 0; i < n; ++i) list += (i ? "," : "") + getString(prefs, key.c_str(), i);
        if (n) say("preferred_colourspaces " + name + " " + list);
      }
      PropertySet outputSpace;
      call(kOfxImageEffectActionGetOutputColourspace, &instance, nullptr, &outputSpace);
      say("output_colourspace " + getString(outputSpace, kOfxImageClipPropColourspace));
    }
    return true;
  }

  // Region of definition, frames needed, render; writes the output (RoD, float RGBA, top row first).
  OfxStatus render(double time, const std::string &outputPath) {
    tRenderStart = std::chrono::steady_clock::now();
    PropertySet in, out;
    double scale[2] = {gOptions.scale, gOptions.scale};
    propSetDouble(handleOf(&in), kOfxPropTime, 0, time);
    setN<double, propSetDouble>(handleOf(&in), kOfxImageEffectPropRenderScale, 2, scale);
    OfxRectD rod{0, 0, 0, 0};
    OfxStatus st = call(kOfxImageEffectActionGetRegionOfDefinition, &instance, &in, &out);
    if (st == kOfxStatOK) getN<double, propGetDouble>(handleOf(&out), kOfxImageEffectPropRegionOfDefinition, 4, &rod.x1);
    else
      clipGetRegionOfDefinition(
          reinterpret_cast<OfxImageClipHandle>(instance.clips[kOfxImageEffectSimpleSourceClipName].get()), time, &rod);
    char buf[256];
    snprintf(buf, sizeof buf, "rod %g %s %g %g %g %g", time, st == kOfxStatOK ? "plugin" : "default", rod.x1, rod.y1,
             rod.x2, rod.y2);
    say(buf);
    if (temporal) {
      PropertySet needed;
      OfxStatus fn = call(kOfxImageEffectActionGetFramesNeeded, &instance, &in, &needed);
      std::string line = "frames_needed " + std::to_string(static_cast<int>(time)) + " status " + std::to_string(fn);
      for (auto &kv : needed.props) {
        line += " " + kv.first.substr(kv.first.find('_') + 1);
        for (double v : kv.second.d) line += " " + std::to_string(static_cast<int>(v));
      }
      say(line);
    }
    RenderTarget target;
    target.bounds = OfxRectI{static_cast<int>(std::lround(rod.x1 * scale[0])),  // pixels = canonical x scale
                             static_cast<int>(std::lround(rod.y1 * scale[1])),
                             static_cast<int>(std::lround(rod.x2 * scale[0])),
                             static_cast<int>(std::lround(rod.y2 * scale[1]))};
    const int w = target.bounds.x2 - target.bounds.x1, h = target.bounds.y2 - target.bounds.y1;
    target.pixels.assign(static_cast<size_t>(std::max(w, 0)) * std::max(h, 0) * 4, -1.0f);  // untouched shows
    tTarget = &target;
    PropertySet args;
    propSetDouble(handleOf(&args), kOfxPropTime, 0, time);
    setN<int, propSetInt>(handleOf(&args), kOfxImageEffectPropRenderWindow, 4, &target.bounds.x1);
    setN<double, propSetDouble>(handleOf(&args), kOfxImageEffectPropRenderScale, 2, scale);
    const auto started = std::chrono::steady_clock::now();
    st = call(kOfxImageEffectActionRender, &instance, &args, nullptr);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    tTarget = nullptr;
    snprintf(buf, sizeof buf, "render %g status %d size %d %d seconds %.6f", time, st, w, h, seconds);
    say(buf);
    if (st == kOfxStatOK) {
      std::ofstream f(outputPath, std::ios::binary);
      for (int r = 0; r < h; ++r)
        f.write(reinterpret_cast<const char *>(&target.pixels[static_cast<size_t>(h - 1 - r) * w * 4]),
                static_cast<std::streamsize>(w * 4 * sizeof(float)));
    }
    return st;
  }

  void tearDown() {
    call(kOfxActionDestroyInstance, &instance, nullptr, nullptr);
    call(kOfxActionUnload, nullptr, nullptr, nullptr);
  }
};

}  // namespace

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: vsae-testhost SCRIPT\n");
    return 2;
  }
  std::ifstream script(argv[1]);
  if (!script) {
    fprintf(stderr, "vsae-testhost: cannot read %s\n", argv[1]);
    return 2;
  }
  Session s;
  std::string id;
  std::vector<std::vector<std::string>> actions;
  std::string line;
  while (std::getline(script, line)) {
    auto f = split(line);
    if (f.empty() || f[0].empty() || f[0][0] == '#') continue;
    if (f[0] == "profile" && f.size() > 1) gOptions.profile = f[1];
    else if (f[0] == "plugin" && f.size() > 1) id = f[1];
    else if (f[0] == "context" && f.size() > 1)
      s.context = f[1] == "general" ? kOfxImageEffectContextGeneral : kOfxImageEffectContextFilter;
    else if (f[0] == "rowbytes" && f.size() > 1) gOptions.negativeRowBytes = f[1] == "negative";
    else if (f[0] == "abort" && f.size() > 1) gOptions.abortAfter = atof(f[1].c_str());
    else if (f[0] == "scale" && f.size() > 1) gOptions.scale = atof(f[1].c_str());
    else if (f[0] == "clip" && f.size() >= 8)
      s.sources[f[1]] = ClipSource{f[2], atoi(f[3].c_str()), atoi(f[4].c_str()), atoi(f[5].c_str()),
                                   atoi(f[6].c_str()), atoi(f[7].c_str())};
    else if (f[0] == "param" && f.size() >= 2) s.values.emplace_back(f[1], f.size() > 2 ? f[2] : "");
    else if (f[0] == "colourspace" && f.size() >= 3) gOptions.colourspaces[f[1]] = f[2];
    else if (f[0] == "render" || f[0] == "threads") actions.push_back(f);
    else {
      fprintf(stderr, "vsae-testhost: bad line: %s\n", line.c_str());
      return 2;
    }
  }
  void *library = nullptr;
  s.plugin = findPlugin(id, &library);
  if (!s.plugin) {
    say("host_error no plugin " + id + " in $OFX_PLUGIN_PATH");
    return 3;
  }
  int failures = 0;
  if (!s.setUp()) return 4;
  for (auto &a : actions) {
    if (a[0] == "render" && a.size() >= 3) {
      failures += s.render(atof(a[1].c_str()), a[2]) != kOfxStatOK;
    } else if (a[0] == "threads" && a.size() >= 3) {
      std::vector<std::thread> threads;
      std::atomic<int> failed{0};
      for (size_t k = 2; k < a.size(); ++k) {
        threads.emplace_back([&, k] {
          char path[4096];
          snprintf(path, sizeof path, a[1].c_str(), atoi(a[k].c_str()));
          failed += s.render(atof(a[k].c_str()), path) != kOfxStatOK;
        });
      }
      for (auto &t : threads) t.join();
      failures += failed;
    }
  }
  s.tearDown();
  say("images_outstanding " + std::to_string(gImagesOut.load()));
  if (library) dlclose(library);
  return failures ? 1 : 0;
}
