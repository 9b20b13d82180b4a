import Foundation
import NeuralNet

public enum ManifestError: Error, CustomStringConvertible, Equatable {
    case unreadable(path: String)
    case noHeader(path: String)
    case missingColumn(path: String, column: String, header: [String])
    case noHeads(path: String)
    case malformedRow(path: String, line: Int, reason: String)
    case unknownLabels(path: String, head: String, split: String, labels: [String], known: [String], fromModel: Bool = false)
    case emptySplit(path: String, split: String)
    case otherHeads(path: String, found: [String], expected: [String])

    public var description: String {
        switch self {
        case .unreadable(let path): "cannot read the manifest \(path)"
        case .noHeader(let path): "\(path) is empty: its first line must name the columns, e.g. path,split,aperture,iso"
        case .missingColumn(let path, let column, let header):
            "\(path) has no '\(column)' column (its header is \(header.joined(separator: ",")))"
        case .noHeads(let path):
            "\(path) has no label columns: after path (and split) add one column per head, e.g. path,aperture,iso"
        case .malformedRow(let path, let line, let reason): "\(path) line \(line): \(reason)"
        case .unknownLabels(let path, let head, let split, let labels, let known, let fromModel):
            "\(path): \(split) rows give head '\(head)' labels " + (fromModel ? "the model's head does not have" : "no train row has")
                + ": \(labels.joined(separator: ", ")) (\(fromModel ? "the model has" : "train has") \(known.joined(separator: ", ")))"
        case .emptySplit(let path, let split): "\(path) has no \(split) rows"
        case .otherHeads(let path, let found, let expected):
            "\(path) has the label columns \(found.joined(separator: ", ")); the model's heads are \(expected.joined(separator: ", "))"
        }
    }
}

/// A CSV manifest for multi-head training: a header `path[,split],head1,head2,…`, then one row
/// per image with its label for each head (an empty cell: unknown for that head).
///
/// Paths are relative to the manifest's folder unless absolute. `split` is train, val or test;
/// without the column, a deterministic share of the rows is held out for validation as
/// `ImageFolder` does. Each head's labels are the distinct values its train rows use, sorted —
/// or, for a model's manifest (`heads`), the model's, so a test-only manifest can evaluate it.
public struct ImageManifest: Sendable {
    public let url: URL
    public let heads: [HeadSpec]
    public private(set) var train: [LabeledFile] = []
    public private(set) var validation: [LabeledFile] = []
    public private(set) var test: [LabeledFile] = []

    private struct Row {
        var line: Int
        var path: String
        var split: String
        var cells: [String]
    }

    public init(url: URL, validationShare: Double = 0.1, heads known: [HeadSpec]? = nil) throws {
        self.url = url
        guard let data = FileManager.default.contents(atPath: url.path), let text = String(data: data, encoding: .utf8) else {
            throw ManifestError.unreadable(path: url.path)
        }
        // Spreadsheets save CSV with a byte-order mark; it is not part of the first column's name.
        let records = try CSV.parse(text.hasPrefix("\u{FEFF}") ? String(text.dropFirst()) : text, path: url.path)
        guard let header = records.first?.fields.map({ $0.trimmingCharacters(in: .whitespaces) }), header != [""] else {
            throw ManifestError.noHeader(path: url.path)
        }
        guard let pathColumn = header.firstIndex(of: "path") else {
            throw ManifestError.missingColumn(path: url.path, column: "path", header: header)
        }
        let splitColumn = header.firstIndex(of: "split")
        let headColumns = header.indices.filter { $0 != pathColumn && $0 != splitColumn }
        guard !headColumns.isEmpty else { throw ManifestError.noHeads(path: url.path) }
        if let known, headColumns.map({ header[$0] }) != known.map(\.name) {
            throw ManifestError.otherHeads(path: url.path, found: headColumns.map { header[$0] }, expected: known.map(\.name))
        }
        let folder = url.deletingLastPathComponent()
        var rows: [Row] = []
        for record in records.dropFirst() where record.fields != [""] {
            func fail(_ reason: String) -> ManifestError { .malformedRow(path: url.path, line: record.line, reason: reason) }
            guard record.fields.count == header.count else {
                throw fail("\(record.fields.count) fields where the header has \(header.count)")
            }
            let field = { (column: Int) in record.fields[column].trimmingCharacters(in: .whitespaces) }
            let path = field(pathColumn)
            guard !path.isEmpty else { throw fail("the path is empty") }
            let resolved = path.hasPrefix("/") ? path : folder.appendingPathComponent(path).path
            var split = splitColumn.map(field) ?? ""
            if split.isEmpty {
                split = ImageFolder.isHeldOut(path, relativeTo: folder, share: validationShare) ? "val" : "train"
            }
            guard ["train", "val", "test"].contains(split) else { throw fail("split is '\(split)'; use train, val or test") }
            let cells = headColumns.map(field)
            guard cells.contains(where: { !$0.isEmpty }) else { throw fail("no label for any head") }
            rows.append(Row(line: record.line, path: resolved, split: split, cells: cells))
        }
        let trainRows = rows.filter { $0.split == "train" }
        guard known != nil || !trainRows.isEmpty else { throw ManifestError.emptySplit(path: url.path, split: "train") }
        heads = try known ?? headColumns.enumerated().map { h, column in
            let labels = Set(trainRows.map { $0.cells[h] }.filter { !$0.isEmpty }).sorted()
            guard !labels.isEmpty else {
                throw ManifestError.malformedRow(path: url.path, line: 1, reason: "head '\(header[column])' has no label in any train row")
            }
            return HeadSpec(name: header[column], labels: labels)
        }
        if let problem = HeadSpec.problem(with: heads) {
            throw ManifestError.malformedRow(path: url.path, line: 1, reason: problem)
        }
        for split in known == nil ? ["val", "test"] : ["train", "val", "test"] {
            for (h, head) in heads.enumerated() {
                let unknown = Set(rows.filter { $0.split == split }.map { $0.cells[h] })
                    .subtracting(head.labels).subtracting([""]).sorted()
                guard unknown.isEmpty else {
                    throw ManifestError.unknownLabels(path: url.path, head: head.name, split: split, labels: unknown, known: head.labels,
                                                      fromModel: known != nil)
                }
            }
        }
        let indices = heads.map { head in Dictionary(uniqueKeysWithValues: head.labels.enumerated().map { ($1, $0) }) }
        for row in rows {
            let file = LabeledFile(path: row.path, headLabels: row.cells.enumerated().map { indices[$0][$1] })
            switch row.split {
            case "train": train.append(file)
            case "val": validation.append(file)
            default: test.append(file)
            }
        }
    }
}

/// RFC 4180 CSV: comma-separated fields, double-quoted when they hold commas, quotes or line
/// breaks ("" is a quote inside one); CRLF, LF or CR line ends. Read scalar by scalar, so a
/// combining mark after a comma or quote never hides it.
enum CSV {
    struct Record: Equatable {
        /// 1-based line where the record starts.
        var line: Int
        var fields: [String]
    }

    static func parse(_ text: String, path: String) throws -> [Record] {
        var records: [Record] = []
        var fields: [String] = [], field = String.UnicodeScalarView()
        var quoted = false, closedQuote = false
        var line = 1, recordLine = 1
        let scalars = Array(text.unicodeScalars)
        func fail(_ reason: String) -> ManifestError { .malformedRow(path: path, line: line, reason: reason) }
        func endField() {
            fields.append(String(field))
            field = String.UnicodeScalarView()
            closedQuote = false
        }
        func endRecord() {
            endField()
            records.append(Record(line: recordLine, fields: fields))
            fields = []
        }
        var index = 0
        while index < scalars.count {
            let c = scalars[index]
            index += 1
            if quoted {
                if c == "\"" {
                    if index < scalars.count, scalars[index] == "\"" { field.append(c); index += 1 } else { quoted = false; closedQuote = true }
                } else {
                    // A line break inside a quoted field still counts for the line numbers (CRLF once).
                    if c == "\n" || (c == "\r" && (index >= scalars.count || scalars[index] != "\n")) { line += 1 }
                    field.append(c)
                }
                continue
            }
            switch c {
            case "\"" where field.isEmpty && !closedQuote:
                quoted = true
            case ",":
                endField()
            case "\r", "\n":
                if c == "\r", index < scalars.count, scalars[index] == "\n" { index += 1 }
                endRecord()
                line += 1
                recordLine = line
            default:
                if c == "\"" { throw fail("a quote inside an unquoted field; quote the whole field") }
                if closedQuote { throw fail("text after a quoted field's closing quote; put it inside the quotes") }
                field.append(c)
            }
        }
        guard !quoted else { throw ManifestError.malformedRow(path: path, line: recordLine, reason: "a quoted field is never closed") }
        if !field.isEmpty || !fields.isEmpty || closedQuote { endRecord() }
        return records
    }
}
