// InputBuffer: the bytes read from one connection and not yet consumed, kept
// contiguous so that a frame header and body can be parsed in place. Readers
// ask for free space at the end (Space), write into it and Commit what they
// wrote; parsers look at the front (view) and Consume it. Consume never moves
// or frees bytes: a view stays valid until the next Space(), which may. When it
// empties, a buffer grown past 1 MiB (by a large frame) is given back at the
// next Space(). Shared by
// TlsStream (the loop's connections) and BlockingConnection.
//
// Thread-compatible: one thread at a time.
#ifndef KDI_LIB_RPC_INPUT_BUFFER_H_
#define KDI_LIB_RPC_INPUT_BUFFER_H_

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

namespace kdi::rpc {

class InputBuffer {
 public:
  std::string_view view() const {
    return std::string_view(buf_.get() + start_, end_ - start_);
  }
  size_t size() const { return end_ - start_; }

  // At least want bytes of free space after the data; *room is all of it.
  char* Space(size_t want, size_t* room) {
    if (start_ == end_) {
      start_ = end_ = 0;
      if (cap_ > kKeepCapacity) {
        buf_.reset();
        cap_ = 0;
      }
    }
    if (cap_ - end_ < want) {
      size_t used = end_ - start_;
      if (start_ > 0 && used + want <= cap_) {
        memmove(buf_.get(), buf_.get() + start_, used);
      } else {
        size_t cap = std::max(cap_ * 2, used + want);
        std::unique_ptr<char[]> bigger(new char[cap]);
        if (used > 0) memcpy(bigger.get(), buf_.get() + start_, used);
        buf_ = std::move(bigger);
        cap_ = cap;
      }
      start_ = 0;
      end_ = used;
    }
    *room = cap_ - end_;
    return buf_.get() + end_;
  }
  // n bytes were written at Space().
  void Commit(size_t n) { end_ += n; }

  void Consume(size_t n) {
    start_ += std::min(n, end_ - start_);
    if (start_ == end_) start_ = end_ = 0;
  }
  // Moves the front n bytes into *out (replacing its contents).
  void Take(size_t n, std::string* out) {
    n = std::min(n, end_ - start_);
    out->assign(buf_.get() + start_, n);
    Consume(n);
  }

 private:
  static constexpr size_t kKeepCapacity = 1 << 20;

  std::unique_ptr<char[]> buf_;
  size_t cap_ = 0;
  size_t start_ = 0;  // the data is [start_, end_)
  size_t end_ = 0;
};

}  // namespace kdi::rpc

#endif  // KDI_LIB_RPC_INPUT_BUFFER_H_
