import Foundation
import Retraining
import Serving

/// Domain values → the JSON schemas of openapi/boundary.yaml, field for field as the gRPC mapping
/// fills the protos.
enum Wire {
    static func label(_ ranked: RankedLabel) -> Components.Schemas.ScoredLabel {
        .init(label: ranked.label, index: Int32(clamping: ranked.index), score: ranked.score)
    }

    static func explanation(_ explanation: Explanation) -> Components.Schemas.Explanation {
        func map(_ map: Explanation.Map) -> Components.Schemas.HeatMap {
            .init(height: Int32(map.height), width: Int32(map.width), values: map.values)
        }
        return .init(imageId: explanation.imageID, model: explanation.model, version: Int64(explanation.version),
                     label: explanation.label, labelIndex: Int32(explanation.labelIndex), probability: explanation.probability,
                     layer: explanation.layer, layers: explanation.layers, heat: map(explanation.heat),
                     featureMaps: explanation.featureMaps.map {
                         .init(channel: Int32($0.channel), meanActivation: $0.meanActivation,
                               peakActivation: $0.peakActivation, map: map($0.map))
                     },
                     explainMs: explanation.seconds * 1000)
    }

    static func prediction(_ prediction: Prediction) -> Components.Schemas.Prediction {
        .init(imageId: prediction.imageID, model: prediction.model, version: Int64(prediction.version),
              labels: prediction.labels.map(label),
              heads: prediction.heads.isEmpty ? nil : prediction.heads.map {
                  .init(head: $0.head, labels: $0.labels.map(label), margin: $0.margin, boundary: $0.isBoundary)
              },
              margin: prediction.margin, boundary: prediction.isBoundary,
              embedding: prediction.embedding, decodeMs: prediction.decodeSeconds * 1000,
              inferenceMs: prediction.inferenceSeconds * 1000, batchSize: Int32(clamping: prediction.batchSize))
    }

    static func model(_ description: ModelDescription) -> Components.Schemas.ModelInfo {
        let input = description.spec.input
        return .init(
            name: description.name, architecture: description.spec.name, labels: description.spec.labels,
            input: .init(channels: Int32(input.channels), height: Int32(input.height), width: Int32(input.width),
                         resize: input.resize.rawValue),
            servingVersion: Int64(description.servingVersion), boundaryThreshold: description.boundaryThreshold,
            versions: description.versions.map { version in
                .init(version: Int64(version.version), parent: Int64(version.record.parent ?? 0),
                      createdAt: version.record.createdAt, metrics: .init(additionalProperties: version.metrics),
                      serving: version.isServing, lineage: .init(additionalProperties: version.record.lineage))
            })
    }

    static func candidates(_ page: CandidatePage) -> Components.Schemas.CandidatePage {
        let time = ISO8601DateFormatter()
        return .init(
            model: page.model, total: Int64(page.total),
            candidates: page.entries.map { entry in
                .init(imageId: entry.imageID, version: Int64(entry.seen.version), labels: entry.seen.labels.map(label),
                      margin: entry.seen.margin, boundary: entry.seen.isBoundary, x: entry.position?.x, y: entry.position?.y,
                      predictedAt: time.string(from: entry.seen.at), queued: Int64(entry.queued))
            },
            nextPageToken: page.nextPageToken, explainedVariance: page.explainedVariance.map(Float.init),
            projection: page.projection == .tsne ? .tsne : .pca, mapPending: page.mapPending)
    }

    static func receipt(_ receipt: FeedbackReceipt) -> Components.Schemas.FeedbackReceipt {
        .init(eventId: String(receipt.eventID), accepted: Int64(receipt.accepted), duplicates: Int64(receipt.duplicates),
              replayed: receipt.replayed, queueDepth: Int64(receipt.queueDepth))
    }

    static func queue(_ summary: QueueSummary, model: String, lastRetrain: RetrainUpdate?, nextRetrain: Date?)
        -> Components.Schemas.QueueStatus {
        func count(_ state: SampleState) -> Int64 { Int64(summary.byState[state] ?? 0) }
        return .init(
            model: model, pending: count(.pending), training: count(.training), heldOut: count(.heldOut),
            consumed: count(.consumed), quarantined: count(.quarantined), unusable: count(.unusable),
            discarded: count(.discarded), total: Int64(summary.total), events: Int64(summary.events),
            storedImages: Int64(summary.storedImages), storedImageBytes: Int64(summary.imageBytes),
            databaseBytes: Int64(summary.databaseBytes),
            labels: summary.byLabel.sorted { $0.key < $1.key }.map { label, counts in
                .init(label: label, positive: Int64(counts.positive), negative: Int64(counts.negative),
                      corrected: Int64(counts.corrected))
            },
            lastRetrain: lastRetrain.map { progress($0, model: model) },
            nextRetrainAt: nextRetrain.map { ISO8601DateFormatter().string(from: $0) })
    }

    static func progress(_ update: RetrainUpdate, model: String) -> Components.Schemas.RetrainProgress {
        .init(jobId: update.jobID, model: model, phase: update.phase.rawValue, epoch: Int32(clamping: update.epoch),
              epochs: Int32(clamping: update.epochs), loss: update.loss, accuracy: update.accuracy,
              etaSeconds: update.etaSeconds, result: update.outcome.map(result), error: update.error)
    }

    static func result(_ outcome: RetrainOutcome) -> Components.Schemas.RetrainResult {
        func metrics(_ evaluation: RetrainEvaluation) -> Components.Schemas.EvalMetrics {
            var perClass: [String: Double] = [:]
            for (index, accuracy) in evaluation.perClass where outcome.labels.indices.contains(index) {
                perClass[outcome.labels[index]] = accuracy
            }
            return .init(accuracy: evaluation.accuracy, boundaryAccuracy: evaluation.boundaryAccuracy,
                         samples: Int64(evaluation.samples), boundarySamples: Int64(evaluation.boundarySamples),
                         perClass: .init(additionalProperties: perClass))
        }
        return .init(
            candidateVersion: Int64(outcome.candidateVersion ?? 0), promoted: outcome.promoted, reason: outcome.reason,
            parentVersion: Int64(outcome.parentVersion), feedbackSamples: Int64(outcome.feedbackSamples),
            replaySamples: Int64(outcome.replaySamples), before: outcome.before.map(metrics), after: outcome.after.map(metrics),
            decision: outcome.verdict?.decision.rawValue, confidence: outcome.verdict?.policy.confidence,
            boundaryPValue: outcome.verdict?.boundary.pCandidateBetter, regressionPValue: outcome.verdict?.overall.pCandidateWorse,
            quarantinedSamples: Int64(outcome.quarantinedSamples), unusableSamples: Int64(outcome.unusableSamples),
            evaluationFeedback: Int64(outcome.evaluationFeedback), evaluationBase: Int64(outcome.evaluationBase))
    }

    static func quarantined(_ event: QuarantinedEvent) -> Components.Schemas.QuarantinedEvent {
        .init(eventId: event.eventID, userId: event.userID, label: event.label, createdAt: event.createdAt,
              samples: Int64(event.quarantinedSamples), verdict: event.verdict)
    }
}
