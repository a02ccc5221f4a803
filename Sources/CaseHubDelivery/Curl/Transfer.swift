import CCurl
import CurlShim
import Foundation

/// One transfer in flight: the easy handle, and everything libcurl reads from or writes into
/// while it runs (request body, header list, answer buffers). libcurl keeps pointers into
/// these until the transfer ends, so they live exactly as long as this object.
///
/// Touched only by the engine's thread once handed over.
final class Transfer: @unchecked Sendable {
    let handle: UnsafeMutableRawPointer
    let request: TransferRequest
    /// The caller waiting for this transfer, and what it sends next.
    let sequence: TransferSequence
    let started = ContinuousClock.now

    private var headerList: UnsafeMutablePointer<curl_slist>?
    private var recipientList: UnsafeMutablePointer<curl_slist>?
    /// The request body or mail, copied where libcurl can read it for the whole transfer.
    private let outgoing: UnsafeMutableBufferPointer<UInt8>
    private var uploadOffset = 0
    private let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE))

    private(set) var received: [UInt8] = []
    private(set) var retryAfter: String?
    private(set) var refusedAddress: String?
    /// SMTP: the server's replies, each whole (a multi-line one's lines read `250-…` until
    /// the final `250 …`), the last few.
    private var smtpReplies: [[UInt8]] = []
    private var lastReplyComplete = true

    /// Makes the easy handle and sets every option; nil when libcurl has no handle to give.
    init?(request: TransferRequest, sequence: TransferSequence) {
        guard let handle = curl_easy_init() else { return nil }
        self.handle = handle
        self.request = request
        self.sequence = sequence
        let bytes: [UInt8]
        switch request.payload {
        case .httpPost(_, let body): bytes = body
        case .smtp(_, _, let message): bytes = message
        }
        outgoing = .allocate(capacity: max(bytes.count, 1))
        _ = outgoing.initialize(from: bytes)
        errorBuffer.initialize(to: 0)
        configure(byteCount: bytes.count)
    }

    deinit {
        curl_easy_cleanup(handle)
        curl_slist_free_all(headerList)
        curl_slist_free_all(recipientList)
        outgoing.deallocate()
        errorBuffer.deallocate()
    }

    private func configure(byteCount: Int) {
        let me = Unmanaged.passUnretained(self).toOpaque()
        curlshim_easy_setopt_string(handle, CURLOPT_URL, request.url)
        curlshim_easy_setopt_long(handle, CURLOPT_NOSIGNAL, 1)
        curlshim_easy_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS, Self.milliseconds(request.connectTimeout))
        curlshim_easy_setopt_long(handle, CURLOPT_TIMEOUT_MS, Self.milliseconds(request.totalTimeout))
        curlshim_easy_setopt_pointer(handle, CURLOPT_ERRORBUFFER, errorBuffer)
        // Proxies from the environment would make the address guard judge the proxy, not the
        // receiver: outbound traffic goes direct.
        curlshim_easy_setopt_string(handle, CURLOPT_PROXY, "")
        curlshim_easy_setopt_write_function(handle, CURLOPT_WRITEFUNCTION) { data, size, count, context in
            Unmanaged<Transfer>.fromOpaque(context!).takeUnretainedValue().receive(data, size * count)
        }
        curlshim_easy_setopt_pointer(handle, CURLOPT_WRITEDATA, me)
        curlshim_easy_setopt_write_function(handle, CURLOPT_HEADERFUNCTION) { data, size, count, context in
            Unmanaged<Transfer>.fromOpaque(context!).takeUnretainedValue().receiveHeader(data, size * count)
        }
        curlshim_easy_setopt_pointer(handle, CURLOPT_HEADERDATA, me)
        if !request.allowPrivateAddresses {
            // Judged on the resolved address, twice: before the socket is opened (so nothing
            // is sent to a refused address, not even a SYN), and once connected, before the
            // request is written.
            curlshim_easy_setopt_opensocket_function(handle) { context, _, address in
                Unmanaged<Transfer>.fromOpaque(context!).takeUnretainedValue().openSocket(address)
            }
            curlshim_easy_setopt_pointer(handle, CURLOPT_OPENSOCKETDATA, me)
            curlshim_easy_setopt_prereq_function(handle) { context, primaryIP, _, _, _ in
                Unmanaged<Transfer>.fromOpaque(context!).takeUnretainedValue().admit(primaryIP)
            }
            curlshim_easy_setopt_pointer(handle, CURLOPT_PREREQDATA, me)
        }
        switch request.payload {
        case .httpPost(let headers, _):
            curlshim_easy_setopt_string(handle, CURLOPT_PROTOCOLS_STR, "http,https")
            curlshim_easy_setopt_long(handle, CURLOPT_FOLLOWLOCATION, 0)
            for header in headers { headerList = curl_slist_append(headerList, header) }
            // No "Expect: 100-continue" round trip before small bodies.
            headerList = curl_slist_append(headerList, "Expect:")
            curlshim_easy_setopt_slist(handle, CURLOPT_HTTPHEADER, headerList)
            curlshim_easy_setopt_long(handle, CURLOPT_POST, 1)
            curlshim_easy_setopt_off_t(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(byteCount))
            curlshim_easy_setopt_pointer(handle, CURLOPT_POSTFIELDS, outgoing.baseAddress)
        case .smtp(let from, let recipients, _):
            curlshim_easy_setopt_string(handle, CURLOPT_PROTOCOLS_STR, "smtp,smtps")
            // STARTTLS whenever the server offers it (smtps:// is TLS from the start).
            curlshim_easy_setopt_long(handle, CURLOPT_USE_SSL, Int(CURLUSESSL_TRY.rawValue))
            curlshim_easy_setopt_string(handle, CURLOPT_MAIL_FROM, "<\(from)>")
            for recipient in recipients { recipientList = curl_slist_append(recipientList, "<\(recipient)>") }
            curlshim_easy_setopt_slist(handle, CURLOPT_MAIL_RCPT, recipientList)
            curlshim_easy_setopt_long(handle, CURLOPT_UPLOAD, 1)
            curlshim_easy_setopt_off_t(handle, CURLOPT_INFILESIZE_LARGE, curl_off_t(byteCount))
            curlshim_easy_setopt_read_function(handle) { buffer, size, count, context in
                Unmanaged<Transfer>.fromOpaque(context!).takeUnretainedValue().send(into: buffer, size * count)
            }
            curlshim_easy_setopt_pointer(handle, CURLOPT_READDATA, me)
        }
    }

    /// The result, once libcurl reports the transfer done with `code`.
    func result(_ code: CURLcode) -> TransferResult {
        var status = 0
        curlshim_easy_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        // A refused address ended the transfer only if no other address connected (a host
        // may resolve to a refused private address and an accepted public one).
        let refusedAddress = code == CURLE_COULDNT_CONNECT || code == CURLE_ABORTED_BY_CALLBACK ? self.refusedAddress : nil
        var error: String?
        if code != CURLE_OK {
            if let refusedAddress {
                error = "refused to connect to \(refusedAddress): not a public address (CASEHUB_WEBHOOK_ALLOW_PRIVATE is off)"
            } else {
                let detail = String(cString: errorBuffer)
                error = detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail
            }
        }
        return TransferResult(
            code: status == 0 ? nil : status, error: error, body: answer(status: status), retryAfter: retryAfter,
            duration: ContinuousClock.now - started, refusedAddress: refusedAddress)
    }

    /// What the attempt records as the answer: for HTTP the body's first bytes; for SMTP the
    /// reply that carries the final status (a refusal is followed by the reply to libcurl's
    /// QUIT, `221 Bye`, which must not hide it), else the last reply.
    private func answer(status: Int) -> [UInt8] {
        guard case .smtp = request.payload else { return received }
        let code = Array(String(status).utf8)
        return smtpReplies.last { status != 0 && $0.starts(with: code) } ?? smtpReplies.last ?? []
    }

    // MARK: - Callbacks (on the engine's thread, inside libcurl)

    private func receive(_ data: UnsafeMutablePointer<CChar>?, _ count: Int) -> Int {
        let room = request.responseLimit - received.count
        if room > 0, let data {
            data.withMemoryRebound(to: UInt8.self, capacity: count) { bytes in
                received.append(contentsOf: UnsafeBufferPointer(start: bytes, count: min(room, count)))
            }
        }
        return count  // the rest is read and dropped, not refused
    }

    private func receiveHeader(_ data: UnsafeMutablePointer<CChar>?, _ count: Int) -> Int {
        guard let data else { return count }
        let bytes = data.withMemoryRebound(to: UInt8.self, capacity: count) { Array(UnsafeBufferPointer(start: $0, count: count)) }
        if case .smtp = request.payload {
            // libcurl hands SMTP server replies to the header callback: kept whole, so a
            // refusal is recorded in the server's own words (see `answer(status:)`).
            if lastReplyComplete || smtpReplies.isEmpty {
                if smtpReplies.count == 16 { smtpReplies.removeFirst() }
                smtpReplies.append([])
            }
            let room = max(0, request.responseLimit - smtpReplies[smtpReplies.count - 1].count)
            smtpReplies[smtpReplies.count - 1].append(contentsOf: bytes.prefix(room))
            lastReplyComplete = bytes.count < 4 || bytes[3] != UInt8(ascii: "-")
            return count
        }
        let line = String(decoding: bytes, as: UTF8.self)
        if line.hasPrefix("HTTP/") { retryAfter = nil }  // a new answer (after a 100) starts over
        if let colon = line.firstIndex(of: ":"), line[..<colon].lowercased() == "retry-after" {
            retryAfter = line[line.index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines)
        }
        return count
    }

    private func send(into buffer: UnsafeMutablePointer<CChar>?, _ capacity: Int) -> Int {
        guard let buffer else { return 0 }
        let count = min(capacity, outgoing.count - uploadOffset)
        guard count > 0 else { return 0 }
        UnsafeMutableRawPointer(buffer).copyMemory(from: outgoing.baseAddress! + uploadOffset, byteCount: count)
        uploadOffset += count
        return count
    }

    private func openSocket(_ address: UnsafeMutablePointer<curl_sockaddr>?) -> curl_socket_t {
        guard let address else { return CURL_SOCKET_BAD }
        var text = [CChar](repeating: 0, count: 64)
        guard curlshim_sockaddr_ip(address, &text, UInt32(text.count)) == 0 else { return CURL_SOCKET_BAD }
        let ip = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard AddressGuard.isPubliclyRoutable(ip) else {
            refusedAddress = ip
            return CURL_SOCKET_BAD
        }
        return socket(address.pointee.family, address.pointee.socktype, address.pointee.protocol)
    }

    private func admit(_ primaryIP: UnsafeMutablePointer<CChar>?) -> Int32 {
        let address = primaryIP.map { String(cString: $0) } ?? ""
        if AddressGuard.isPubliclyRoutable(address) { return CURL_PREREQFUNC_OK }
        refusedAddress = address
        return CURL_PREREQFUNC_ABORT
    }

    private static func milliseconds(_ duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        return max(1, Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000))
    }
}
