#pragma once
// A client connection as the server sees it when it drains or stops: an HTTP session, or the
// WebSocket session it became. Internal: include only from server/src.

namespace gateway {

class connection {
public:
    /// Thread-safe. Finish what was accepted, take nothing new, then close (WebSocket: 1012).
    virtual void begin_drain() = 0;
    /// Thread-safe. Cut the connection now.
    virtual void abort() = 0;
    /// Thread-safe. From now on the bus's threads never touch this connection's executor; called
    /// before the io_context that runs it may go away.
    virtual void detach() noexcept = 0;

protected:
    ~connection() = default;
};

}  // namespace gateway
