//! The tables, in column types both engines share (Text, Integer, BigInt, Double, Bool,
//! Timestamp, Date). Written by hand to match `migrations/*/`; a test runs real queries
//! against both engines.
#![allow(missing_docs)]

diesel::table! {
    taxonomy_terms (id) {
        id -> Text,
        vocabulary -> Text,
        slug -> Text,
        name -> Text,
        parent_id -> Nullable<Text>,
        position -> Integer,
    }
}

diesel::table! {
    organizations (id) {
        id -> Text,
        name -> Text,
        description -> Text,
        website -> Nullable<Text>,
        email -> Nullable<Text>,
        phone -> Nullable<Text>,
        charity_number -> Nullable<Text>,
        kind -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        status -> Text,
        review_note -> Nullable<Text>,
    }
}

diesel::table! {
    practice_services (practice_id) {
        practice_id -> Text,
        service_id -> Text,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        organization_id -> Text,
        email -> Text,
        name -> Text,
        role -> Text,
        password_hash -> Nullable<Text>,
        totp_secret -> Nullable<Text>,
        totp_enabled -> Bool,
        status -> Text,
        token_version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    account_links (id) {
        id -> Text,
        user_id -> Text,
        purpose -> Text,
        token_hash -> Text,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
        created_by -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    audit_events (id) {
        id -> BigInt,
        at -> Timestamp,
        actor_id -> Nullable<Text>,
        actor_role -> Nullable<Text>,
        action -> Text,
        record_type -> Nullable<Text>,
        record_id -> Nullable<Text>,
        outcome -> Text,
        ip -> Nullable<Text>,
        detail -> Nullable<Text>,
    }
}

diesel::table! {
    services (id) {
        id -> Text,
        organization_id -> Text,
        name -> Text,
        summary -> Text,
        description -> Text,
        status -> Text,
        url -> Nullable<Text>,
        email -> Nullable<Text>,
        phone -> Nullable<Text>,
        fees_description -> Nullable<Text>,
        eligibility_description -> Nullable<Text>,
        minimum_age -> Nullable<Integer>,
        maximum_age -> Nullable<Integer>,
        how_to_access -> Text,
        attending_type -> Text,
        capacity -> Text,
        languages -> Text,
        keywords -> Text,
        approval -> Text,
        last_verified -> Timestamp,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        reopens_on -> Nullable<Date>,
        merged_into -> Nullable<Text>,
    }
}

diesel::table! {
    service_taxonomy (service_id, term_id) {
        service_id -> Text,
        term_id -> Text,
    }
}

diesel::table! {
    cost_options (id) {
        id -> Text,
        service_id -> Text,
        option -> Text,
        amount -> Nullable<Double>,
        currency -> Text,
        amount_description -> Nullable<Text>,
    }
}

diesel::table! {
    contacts (id) {
        id -> Text,
        service_id -> Text,
        name -> Nullable<Text>,
        title -> Nullable<Text>,
        email -> Nullable<Text>,
        phone -> Nullable<Text>,
    }
}

diesel::table! {
    locations (id) {
        id -> Text,
        organization_id -> Nullable<Text>,
        name -> Text,
        address_1 -> Text,
        city -> Text,
        postcode -> Nullable<Text>,
        latitude -> Nullable<Double>,
        longitude -> Nullable<Double>,
        masked -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    location_accessibility (location_id, term_id) {
        location_id -> Text,
        term_id -> Text,
    }
}

diesel::table! {
    service_at_locations (id) {
        id -> Text,
        service_id -> Text,
        location_id -> Text,
    }
}

diesel::table! {
    schedules (id) {
        id -> Text,
        service_id -> Text,
        freq -> Text,
        byday -> Text,
        week_of_month -> Nullable<Text>,
        opens_at -> Text,
        closes_at -> Text,
        valid_from -> Nullable<Date>,
        valid_to -> Nullable<Date>,
        notes -> Nullable<Text>,
    }
}

diesel::table! {
    postcodes (postcode) {
        postcode -> Text,
        outward -> Text,
        latitude -> Double,
        longitude -> Double,
    }
}

diesel::table! {
    places (id) {
        id -> Text,
        name -> Text,
        name_key -> Text,
        county -> Text,
        latitude -> Double,
        longitude -> Double,
    }
}

diesel::table! {
    /// Seed steps done (`complete`: the whole first-start seed), written in the seed's transaction.
    seed_state (step) {
        step -> Text,
        done_at -> Timestamp,
    }
}

diesel::table! {
    search_outbox (id) {
        id -> BigInt,
        service_id -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    referrals (id) {
        id -> Text,
        practice_id -> Text,
        service_id -> Text,
        referrer_id -> Text,
        owner_id -> Nullable<Text>,
        status -> Text,
        version -> Integer,
        urgency -> Text,
        given_name -> Text,
        family_name -> Text,
        date_of_birth -> Date,
        nhs_number -> Text,
        postcode -> Text,
        outward_code -> Text,
        latitude -> Nullable<Double>,
        longitude -> Nullable<Double>,
        phone -> Nullable<Text>,
        email -> Nullable<Text>,
        preferred_contact -> Text,
        contact_times -> Nullable<Text>,
        language -> Nullable<Text>,
        interpreter_needed -> Bool,
        access_needs -> Nullable<Text>,
        do_not_contact_directly -> Bool,
        sex -> Nullable<Text>,
        ethnicity -> Nullable<Text>,
        referrer_words -> Text,
        what_matters -> Nullable<Text>,
        risk_notes -> Nullable<Text>,
        consent_referral -> Bool,
        consent_share -> Bool,
        first_contact_at -> Nullable<Timestamp>,
        review_date -> Nullable<Date>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        contact_stopped_at -> Nullable<Timestamp>,
        source_kind -> Text,
        case_id -> Nullable<Text>,
    }
}

diesel::table! {
    referral_reasons (referral_id, term_id) {
        referral_id -> Text,
        term_id -> Text,
    }
}

diesel::table! {
    referral_events (id) {
        id -> BigInt,
        referral_id -> Text,
        at -> Timestamp,
        actor_id -> Text,
        from_status -> Nullable<Text>,
        to_status -> Text,
        reason -> Nullable<Text>,
        note -> Nullable<Text>,
    }
}

diesel::table! {
    contact_attempts (id) {
        id -> Text,
        referral_id -> Text,
        at -> Timestamp,
        method -> Text,
        outcome -> Text,
        note -> Nullable<Text>,
        by_id -> Text,
    }
}

diesel::table! {
    referral_notes (id) {
        id -> Text,
        referral_id -> Text,
        at -> Timestamp,
        author_id -> Text,
        body -> Text,
    }
}

diesel::table! {
    outcome_measures (id) {
        id -> Text,
        referral_id -> Text,
        at -> Timestamp,
        instrument -> Text,
        timepoint -> Text,
        answers -> Text,
        score -> Nullable<Double>,
        by_id -> Text,
    }
}

diesel::table! {
    referral_plans (id) {
        id -> Text,
        referral_id -> Text,
        version -> Integer,
        what_matters -> Text,
        goals -> Text,
        actions -> Text,
        review_date -> Nullable<Date>,
        author_id -> Text,
        at -> Timestamp,
    }
}

diesel::table! {
    connections (id) {
        id -> Text,
        referral_id -> Text,
        service_id -> Text,
        status -> Text,
        note -> Nullable<Text>,
        version -> Integer,
        introduced_at -> Nullable<Timestamp>,
        answered_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        note_for_person -> Nullable<Text>,
        person_choice -> Nullable<Text>,
        person_reason -> Nullable<Text>,
        person_words -> Nullable<Text>,
        person_answered_at -> Nullable<Timestamp>,
        reminded_at -> Nullable<Timestamp>,
        link_worker_told_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    /// Links to people's own pages (the code itself is never stored, only its hash).
    person_links (id) {
        id -> Text,
        referral_id -> Text,
        code_hash -> Text,
        created_by -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
        failed_birth_dates -> Integer,
        locked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    connection_events (id) {
        id -> BigInt,
        connection_id -> Text,
        at -> Timestamp,
        actor_id -> Nullable<Text>,
        from_status -> Nullable<Text>,
        to_status -> Text,
        reason -> Nullable<Text>,
    }
}

diesel::table! {
    referral_searches (id) {
        id -> BigInt,
        at -> Timestamp,
        service_org_id -> Text,
        query -> Text,
        categories -> Text,
        outward_code -> Nullable<Text>,
        radius_km -> Nullable<Double>,
        results -> Integer,
    }
}

diesel::table! {
    service_versions (id) {
        id -> BigInt,
        service_id -> Text,
        version -> Integer,
        at -> Timestamp,
        actor_id -> Text,
        kind -> Text,
        changes -> Text,
    }
}

diesel::table! {
    listing_suggestions (id) {
        id -> Text,
        service_id -> Text,
        at -> Timestamp,
        from_user_id -> Nullable<Text>,
        body -> Text,
        reply_to -> Nullable<Text>,
        status -> Text,
        answer -> Nullable<Text>,
        answered_by -> Nullable<Text>,
        answered_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(services -> organizations (organization_id));
diesel::joinable!(users -> organizations (organization_id));
diesel::joinable!(account_links -> users (user_id));
diesel::joinable!(connections -> services (service_id));
diesel::joinable!(person_links -> referrals (referral_id));
diesel::joinable!(service_taxonomy -> services (service_id));
diesel::joinable!(service_taxonomy -> taxonomy_terms (term_id));
diesel::joinable!(cost_options -> services (service_id));
diesel::joinable!(contacts -> services (service_id));
diesel::joinable!(schedules -> services (service_id));
diesel::joinable!(service_at_locations -> services (service_id));
diesel::joinable!(service_at_locations -> locations (location_id));
diesel::joinable!(location_accessibility -> locations (location_id));
diesel::joinable!(location_accessibility -> taxonomy_terms (term_id));

diesel::table! {
    /// Rate limit counts per key and fixed window, shared by every instance.
    rate_limits (key, window_start) {
        key -> Text,
        window_start -> BigInt,
        count -> Integer,
    }
}

diesel::table! {
    notifications (id) {
        id -> Text,
        idempotency_key -> Text,
        channel -> Text,
        audience -> Text,
        recipient -> Text,
        template -> Text,
        personalisation -> Text,
        status -> Text,
        attempts -> Integer,
        last_error -> Nullable<Text>,
        next_attempt_at -> Timestamp,
        lease_until -> Nullable<Timestamp>,
        provider_id -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
        delivered_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    referral_restrictions (referral_id) {
        referral_id -> Text,
        at -> Timestamp,
        by_id -> Text,
        reason -> Text,
    }
}

diesel::table! {
    referral_corrections (id) {
        id -> BigInt,
        referral_id -> Text,
        at -> Timestamp,
        actor_id -> Text,
        field -> Text,
        old_value -> Nullable<Text>,
        new_value -> Nullable<Text>,
        reason -> Text,
    }
}

diesel::table! {
    referral_anonymisations (referral_id) {
        referral_id -> Text,
        at -> Timestamp,
        basis -> Text,
    }
}

diesel::table! {
    /// ORUK fields kept for a service (issue 19): JSON of `interop::oruk::kept::KeptService`.
    oruk_service_fields (service_id) {
        service_id -> Text,
        fields -> Text,
    }
}

diesel::table! {
    /// ORUK fields kept for an organisation: JSON of `interop::oruk::kept::KeptOrganization`.
    oruk_organization_fields (organization_id) {
        organization_id -> Text,
        fields -> Text,
    }
}

diesel::table! {
    /// Where a listing is offered besides its venues (issue 19): `directory::service_area`.
    service_areas (id) {
        id -> Text,
        service_id -> Text,
        position -> Integer,
        kind -> Text,
        value -> Text,
        radius_km -> Nullable<Double>,
        latitude -> Nullable<Double>,
        longitude -> Nullable<Double>,
    }
}

diesel::table! {
    /// The postcode districts and sectors a link worker service covers (one service per area).
    service_coverage (service_id, area) {
        service_id -> Text,
        area -> Text,
    }
}

diesel::table! {
    /// Risk and safeguarding flags on a person's case.
    risk_flags (id) {
        id -> Text,
        referral_id -> Text,
        kind -> Text,
        reason -> Text,
        set_by -> Text,
        set_at -> Timestamp,
    }
}

diesel::table! {
    /// Safeguarding concerns raised about a person, with whom, and what came of it.
    safeguarding_log (id) {
        id -> Text,
        referral_id -> Text,
        at -> Timestamp,
        recorded_by -> Text,
        concern -> Text,
        raised_with -> Text,
        reference -> Nullable<Text>,
        outcome -> Nullable<Text>,
    }
}

diesel::table! {
    /// Reminders sent to a listing's editors for one verification (number 0: none to send).
    listing_reminders (service_id, verified_at, number) {
        service_id -> Text,
        verified_at -> Timestamp,
        number -> Integer,
        sent_at -> Timestamp,
    }
}

diesel::table! {
    /// The next meeting a link worker booked with the person.
    referral_meetings (referral_id) {
        referral_id -> Text,
        at -> Timestamp,
        place -> Text,
        booked_by -> Text,
        booked_at -> Timestamp,
        reminded_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    /// Addresses that unsubscribed: nothing more is sent to them.
    notification_opt_outs (address) {
        address -> Text,
        at -> Timestamp,
    }
}

diesel::table! {
    /// Messages a user turned off.
    notification_preferences (user_id, template) {
        user_id -> Text,
        template -> Text,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    taxonomy_terms,
    organizations,
    services,
    service_taxonomy,
    cost_options,
    contacts,
    locations,
    location_accessibility,
    service_at_locations,
    schedules,
    postcodes,
    places,
    search_outbox,
    users,
    practice_services,
    account_links,
    audit_events,
    referrals,
    referral_reasons,
    referral_events,
    contact_attempts,
    referral_notes,
    outcome_measures,
    referral_plans,
    connections,
    connection_events,
    person_links,
    referral_searches,
    service_versions,
    listing_suggestions,
    rate_limits,
    notifications,
    referral_restrictions,
    referral_corrections,
    referral_anonymisations,
    oruk_service_fields,
    oruk_organization_fields,
    service_areas,
    service_coverage,
    risk_flags,
    safeguarding_log,
    listing_reminders,
    referral_meetings,
    notification_opt_outs,
    notification_preferences,
);
