import Foundation
import Testing

@testable import CaseHubDelivery

@Suite struct MIMEMessageTests {
    func sample(subject: String = "Pesan baru dari Ners Ayu Ṡaraswati", text: String = "Baris satu\nBaris dua\r\nBaris tiga") -> MIMEMessage {
        MIMEMessage(
            from: (name: "CaseHub", address: "casehub@rs.example"), to: (name: "Ibu Sári", address: "sari@example.org"), subject: subject,
            date: Date(timeIntervalSince1970: 1_795_000_000), messageId: "d1@rs.example", conversationId: "case-c1@rs.example", text: text,
            html: "<p>hi</p>")
    }

    func lines(_ message: MIMEMessage) -> [String] {
        String(decoding: message.rendered(boundary: "B"), as: UTF8.self).components(separatedBy: "\r\n")
    }

    @Test func everyLineEndsInCRLFAndNoBareLineFeedRemains() {
        let bytes = sample().rendered(boundary: "B")
        for (index, byte) in bytes.enumerated() where byte == 0x0A {
            #expect(index > 0 && bytes[index - 1] == 0x0D)
        }
        #expect(Array(bytes.suffix(2)) == [0x0D, 0x0A])
        #expect(MIMEMessage.crlf("a\nb\r\nc\rd") == "a\r\nb\r\nc\r\nd")
    }

    @Test func nonASCIISubjectsAndNamesAreEncodedWordsOfAtMost75Characters() throws {
        let longSubject = String(repeating: "Jadwal edukasi keluarga ṡ ", count: 6)
        let all = lines(sample(subject: longSubject))
        let subjectStart = try #require(all.firstIndex { $0.hasPrefix("Subject: ") })
        var words: [String] = []
        var index = subjectStart
        repeat {
            let line = all[index]
            #expect(line.unicodeScalars.allSatisfy { $0.isASCII })
            words += line.replacingOccurrences(of: "Subject: ", with: "").split(separator: " ").map(String.init)
            index += 1
        } while all[index].hasPrefix(" ")
        var decoded = Data()
        for word in words {
            #expect(word.count <= 75 && word.hasPrefix("=?UTF-8?B?") && word.hasSuffix("?="))
            let bytes = try #require(Data(base64Encoded: String(word.dropFirst(10).dropLast(2))))
            // Each word decodes on its own: no character is split between two words.
            #expect(String(data: bytes, encoding: .utf8) != nil)
            decoded += bytes
        }
        #expect(String(decoding: decoded, as: UTF8.self) == longSubject)
        #expect(all.contains("To: =?UTF-8?B?\(Data("Ibu Sári".utf8).base64EncodedString())?= <sari@example.org>"))
    }

    @Test func asciiHeadersStayReadableAndNamesAreQuoted() {
        let all = lines(sample(subject: "New message"))
        #expect(all.contains("Subject: New message"))
        #expect(all.contains("From: \"CaseHub\" <casehub@rs.example>"))
        #expect(HeaderEncoding.displayName("Dr. \"A\" B") == "\"Dr. \\\"A\\\" B\"")
        #expect(HeaderEncoding.text("two\r\nlines") == "two  lines")
    }

    @Test func threadingDateAndMIMEHeadersAreThere() {
        let all = lines(sample())
        #expect(all.contains("Message-ID: <d1@rs.example>"))
        #expect(all.contains("In-Reply-To: <case-c1@rs.example>"))
        #expect(all.contains("References: <case-c1@rs.example>"))
        #expect(all.contains("Date: Wed, 18 Nov 2026 11:06:40 +0000"))
        #expect(all.contains("MIME-Version: 1.0"))
        #expect(all.contains("Content-Type: multipart/alternative; boundary=\"B\""))
        #expect(all.filter { $0 == "--B" }.count == 2 && all.contains("--B--"))
        #expect(all.contains("Content-Type: text/plain; charset=UTF-8") && all.contains("Content-Type: text/html; charset=UTF-8"))
    }

    @Test func partsAreBase64InLinesOf76WithCRLFText() throws {
        let text = String(repeating: "Obat diminum 3x sehari sesudah makan. ", count: 10) + "\nSelesai."
        let all = lines(sample(text: text))
        let start = try #require(all.firstIndex(of: "Content-Type: text/plain; charset=UTF-8")) + 3
        let end = try #require(all[start...].firstIndex(of: "--B"))
        #expect(all[start..<end].allSatisfy { $0.count <= 76 })
        let decoded = try #require(Data(base64Encoded: all[start..<end].joined()))
        #expect(String(decoding: decoded, as: UTF8.self) == MIMEMessage.crlf(text))
    }

    /// Every padding case (one or two `=`, none) and line lengths on and around a full line
    /// (57 bytes are exactly 76 characters), checked against Foundation's decoder.
    @Test(arguments: [1, 2, 3, 55, 56, 57, 58, 113, 114, 115])
    func base64PartsDecodeToTheTextForEveryLength(length: Int) throws {
        let text = String(String(repeating: "Suhu 37,5 C. ", count: 20).prefix(length))  // ASCII: length in bytes
        let all = lines(sample(text: text))
        let start = try #require(all.firstIndex(of: "Content-Type: text/plain; charset=UTF-8")) + 3
        let end = try #require(all[start...].firstIndex(of: "--B"))
        let body = all[start..<end]
        #expect(body.dropLast().allSatisfy { $0.count == 76 })
        #expect(body.last.map { (1...76).contains($0.count) && $0.count % 4 == 0 } == true)
        let decoded = try #require(Data(base64Encoded: body.joined()))
        #expect(String(decoding: decoded, as: UTF8.self) == MIMEMessage.crlf(text))
    }
}
